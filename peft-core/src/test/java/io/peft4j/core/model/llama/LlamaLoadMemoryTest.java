package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * What loading a bfloat16 checkpoint costs in memory, on a random 3.95M-parameter Llama written here as a
 * bfloat16 file (7.9 MB; 15.8 MB as float32).
 *
 * <p>Heap: the JVM's count of bytes the loading thread allocates on the heap (cumulative, so an upper
 * bound of what the load ever held there, and independent of when the GC runs). A loader that widened
 * the checkpoint into float32 Java arrays would allocate at least 4 bytes per parameter (15.8 MB); ours
 * reads the memory-mapped file and widens into direct buffers, so only small objects and the header
 * JSON reach the heap: the bound is a sixteenth of the float32 size (1 MB).
 *
 * <p>Native: the bytes of the model's arrays after the load, which is what it keeps. During the load one
 * tensor at a time exists in a second native copy (the float32 view of a file tensor before it is
 * narrowed, or the float32 layer before it is quantized); the largest tensor here is 1/4 of the model.
 */
class LlamaLoadMemoryTest {
    private static final LlamaConfig CONFIG = LlamaConfig.builder().modelType("llama").vocabSize(4096).hiddenSize(256)
            .intermediateSize(688).numHiddenLayers(4).numAttentionHeads(8).numKeyValueHeads(4).tieWordEmbeddings(true).build();

    @TempDir
    static Path dir;
    private static long params;

    @BeforeAll
    static void writeBf16Checkpoint() throws Exception {
        Random r = new Random(5);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : LlamaCheckpoint.expectedShapes(CONFIG).entrySet()) {
            int n = (int) Tensor.numel(e.getValue());
            params += n;
            ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int i = 0; i < n; i++) {
                float v = norm ? 1f : (float) (0.02 * r.nextGaussian());
                b.putShort((short) (Float.floatToRawIntBits(v) >>> 16)); // truncated to bfloat16: any bits will do
            }
            b.flip();
            tensors.put(e.getKey(), new Tensor(DType.BF16, e.getValue(), b));
        }
        SafeTensors.write(dir.resolve("model.safetensors"), tensors);
        AtomicFiles.writeString(dir.resolve("config.json"), CONFIG.toJson());
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static long heapBytesToLoad(DecoderLoadOptions options) throws Exception {
        // A first load outside the count: class loading and the engine's first start allocate once per JVM.
        Llama.causalLm(dir, "warm-up", options).close();
        long before = allocatedBytes();
        PeftModel m = Llama.causalLm(dir, "random-bf16", options);
        long used = allocatedBytes() - before;
        m.close();
        return used;
    }

    @Test
    void aBfloat16CheckpointNeverReachesTheHeapAsFloat32() throws Exception {
        long float32Bytes = 4 * params;
        assertEquals(3_950_848, params, "a model of several MB");
        for (DataType frozen : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
            long heap = heapBytesToLoad(DecoderLoadOptions.builder().frozenWeights(frozen).build());
            assertTrue(heap < float32Bytes / 16, frozen + ": the load allocated " + heap + " heap bytes; a float32 copy is "
                    + float32Bytes);
        }
    }

    @Test
    void theModelKeepsTheBytesOfTheDtypeChosenAtLoad() throws Exception {
        long norms = (2L * CONFIG.numHiddenLayers() + 1) * CONFIG.hiddenSize();
        try (PeftModel f32 = Llama.causalLm(dir, "f32");
                PeftModel f16 = Llama.causalLm(dir, "f16", DecoderLoadOptions.builder().frozenWeights(DataType.FLOAT16).build());
                PeftModel nf4 = Llama.causalLm(dir, "nf4", DecoderLoadOptions.builder().frozenWeights(DataType.FLOAT16)
                        .quantization(QuantizationConfig.nf4()).build())) {
            assertEquals(4 * params, f32.weightBytes());
            assertEquals(2 * (params - norms) + 4 * norms, f16.weightBytes(), "layer weights in 2 bytes, norms in 4");
            assertEquals(7 * CONFIG.numHiddenLayers(), ModelQuantizer.quantizedLayers(nf4).size());
            long embedding = (long) CONFIG.vocabSize() * CONFIG.hiddenSize();
            long linear = params - norms - embedding;
            // NF4: half a byte per weight, plus per block of 64 one 8-bit absmax code (double quantization),
            // plus small per-layer tables: between 0.5 and 0.6 bytes per linear weight.
            long quantizedBytes = nf4.weightBytes() - 2 * embedding - 4 * norms;
            assertTrue(quantizedBytes > linear / 2 && quantizedBytes < linear * 6 / 10, "4-bit layers take " + quantizedBytes
                    + " bytes for " + linear + " weights");
        }
    }
}

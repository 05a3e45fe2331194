package io.peft4j.core.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.quant.QuantizationConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A random GPT-2 directory rewritten in bfloat16 (rounded here, to nearest even, from the float32 bits),
 * loaded with float32 and with float16 frozen weights, against {@link ReferenceGpt2}'s float64 forward of
 * the rounded values. Tolerance as Gpt2ReferenceForwardTest (float32 against float64 through two blocks):
 * 2e-4. Loading as float16 narrows bfloat16 values, exact for |w| of at least 6.1e-5 (8 significant bits
 * fit in float16's 11); the rare smaller weights become float16 subnormals, off by less than 6e-8 each.
 */
class Gpt2DtypesTest {
    private static final double TOLERANCE = 2e-4;
    private static final long[] IDS = {3, 17, 5, 29, 0, 11, 8};

    @TempDir
    Path dir;

    @Test
    void aBfloat16DirectoryLoadsWithFloat32OrFloat16Weights() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(12).nLayer(2).nHead(3).build();
        RandomGpt2Directory written = RandomGpt2Directory.write(dir, c, 31, false, false, 0);
        Map<String, double[]> rounded = rewriteAsBf16(written);
        double[][] want = ReferenceGpt2.logits(c, rounded, IDS);
        for (DataType frozen : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
            try (PeftModel model = Gpt2.causalLm(dir, "gpt2-bf16", DecoderLoadOptions.builder().frozenWeights(frozen).build());
                    NDManager m = model.manager().newSubManager()) {
                assertEquals(frozen, model.parameter("transformer.h.0.attn.c_attn.weight").parameter().getArray().getDataType(),
                        "Conv1D weights are held as chosen");
                assertEquals(frozen, model.parameter("transformer.wte.weight").parameter().getArray().getDataType());
                assertEquals(DataType.FLOAT32, model.parameter("transformer.h.0.attn.c_attn.bias").parameter().getArray().getDataType());
                ForwardContext ctx = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
                float[] got = ((GPT2LMHeadModel) model.root()).logits(new ParameterStore(m, false), ctx, false).logits().toFloatArray();
                for (int t = 0; t < IDS.length; t++) {
                    for (int v = 0; v < c.vocabSize(); v++) {
                        assertEquals(want[t][v], got[t * c.vocabSize() + v], TOLERANCE, frozen + " position " + t + " logit " + v);
                    }
                }
            }
        }
    }

    @Test
    void quantizingAtLoadAndBitsandbytesDirectoriesAreRefusedForGpt2() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(8).nLayer(1).nHead(2).build();
        RandomGpt2Directory.write(dir, c, 32, false, false, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpt2.causalLm(dir, "gpt2",
                DecoderLoadOptions.builder().quantization(QuantizationConfig.nf4()).build()));
        assertTrue(e.getMessage().contains("Conv1D"), e.getMessage());
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config.replaceFirst("\\{", "{\"quantization_config\": {\"load_in_4bit\": true},"));
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2.causalLm(dir, "gpt2"));
        assertTrue(e.getMessage().contains("config.json: quantization_config"), e.getMessage());
    }

    /** Replaces model.safetensors by its bfloat16 rounding; returns the rounded values under the same names. */
    private Map<String, double[]> rewriteAsBf16(RandomGpt2Directory written) throws Exception {
        Path file = dir.resolve(ShardedSafeTensors.SINGLE_FILE);
        Map<String, Tensor> bf16 = new LinkedHashMap<>();
        Map<String, double[]> rounded = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : SafeTensors.read(file).tensors().entrySet()) {
            FloatBuffer src = e.getValue().data().asFloatBuffer();
            int n = src.remaining();
            ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                int bits = Float.floatToRawIntBits(src.get(i));
                int top = (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16;
                b.putShort((short) top);
                d[i] = Float.intBitsToFloat(top << 16);
            }
            b.flip();
            bf16.put(e.getKey(), new Tensor(DType.BF16, e.getValue().shape(), b));
            rounded.put(e.getKey(), d);
        }
        assertEquals(written.weights.keySet(), rounded.keySet());
        SafeTensors.write(file, bf16);
        return rounded;
    }
}

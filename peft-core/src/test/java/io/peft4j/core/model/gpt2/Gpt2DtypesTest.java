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
import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;

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

    /** The NF4 values as published with QLoRA (bitsandbytes' get_4bit_type("nf4")). */
    private static final double[] NF4 = {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

    /**
     * Quantizing at load turns each Conv1D into a 4-bit layer holding its {@code [out, in]} transpose, as
     * transformers' bitsandbytes integration does. Reference: the test's own NF4 of each transposed
     * weight (blocks of 64 in row-major order, absmax scaling, nearest published code value, no double
     * quantization), transposed back, through ReferenceGpt2's float64 forward. Tolerance as above (2e-4):
     * the dequantized values agree to float32 rounding, the rest is float32 arithmetic.
     */
    @Test
    void quantizingAtLoadQuantizesTheConv1DProjections() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(16).nLayer(2).nHead(2).build();
        RandomGpt2Directory written = RandomGpt2Directory.write(dir, c, 32, false, false, 0);
        Map<String, double[]> want = new LinkedHashMap<>(written.weights);
        int conv = 0;
        for (Map.Entry<String, double[]> e : want.entrySet()) {
            String k = e.getKey();
            if (k.endsWith("c_attn.weight") || k.endsWith("c_proj.weight") || k.endsWith("c_fc.weight")) {
                long[] shape = Gpt2Checkpoint.expectedShapes(c).get(k);
                e.setValue(nf4RoundTripOfTranspose(e.getValue(), (int) shape[0], (int) shape[1]));
                conv++;
            }
        }
        assertEquals(8, conv, "four Conv1D projections per block");
        QuantizationConfig nf4 = QuantizationConfig.builder().type(QuantType.NF4).doubleQuant(false).build();
        try (PeftModel model = Gpt2.causalLm(dir, "gpt2-nf4", DecoderLoadOptions.builder().quantization(nf4).build());
                NDManager m = model.manager().newSubManager()) {
            assertTrue(model.namedModules().get("transformer.h.1.mlp.c_fc") instanceof QuantizedLinear);
            assertTrue(((QuantizedLinear) model.namedModules().get("transformer.h.0.attn.c_attn")).replacedConv1D());
            ForwardContext ctx = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
            float[] got = ((GPT2LMHeadModel) model.root()).logits(new ParameterStore(m, false), ctx, false).logits().toFloatArray();
            double[][] ref = ReferenceGpt2.logits(c, want, IDS);
            for (int t = 0; t < IDS.length; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    assertEquals(ref[t][v], got[t * c.vocabSize() + v], TOLERANCE, "position " + t + " logit " + v);
                }
            }
        }
    }

    @Test
    void bitsandbytesGpt2DirectoriesAreRefused() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(8).nLayer(1).nHead(2).build();
        RandomGpt2Directory.write(dir, c, 32, false, false, 0);
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config.replaceFirst("\\{", "{\"quantization_config\": {\"load_in_4bit\": true},"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpt2.causalLm(dir, "gpt2"));
        assertTrue(e.getMessage().contains("config.json: quantization_config"), e.getMessage());
    }

    /** NF4 of {@code w^T} ({@code w} is {@code [in, out]}), dequantized and transposed back to {@code [in, out]}. */
    private static double[] nf4RoundTripOfTranspose(double[] w, int in, int out) {
        double[] t = new double[w.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                t[o * in + i] = (float) w[i * out + o];
            }
        }
        double[] deq = new double[t.length];
        for (int b = 0; b < t.length; b += 64) {
            int end = Math.min(t.length, b + 64);
            double absmax = 0;
            for (int j = b; j < end; j++) {
                absmax = Math.max(absmax, Math.abs(t[j]));
            }
            for (int j = b; j < end; j++) {
                double x = t[j] / absmax;
                int best = 0;
                for (int k = 1; k < NF4.length; k++) {
                    if (Math.abs(x - NF4[k]) < Math.abs(x - NF4[best])) {
                        best = k;
                    }
                }
                deq[j] = NF4[best] * (float) absmax;
            }
        }
        double[] back = new double[w.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                back[i * out + o] = deq[o * in + i];
            }
        }
        return back;
    }

    /** A float32 weight beyond float16's range (65504) asked for in float16 is an error naming it, not an infinity. */
    @Test
    void aWeightBeyondFloat16RangeIsAnErrorWhenLoadedAsFloat16() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(8).nLayer(1).nHead(2).build();
        RandomGpt2Directory.write(dir, c, 33, false, false, 0);
        Path file = dir.resolve(ShardedSafeTensors.SINGLE_FILE);
        Map<String, Tensor> tensors = new LinkedHashMap<>(SafeTensors.read(file).tensors());
        String key = "transformer.h.0.mlp.c_fc.weight";
        float[] v = tensors.get(key).toFloatArray();
        v[3] = 1e5f;
        tensors.put(key, Tensor.ofFloats(v, tensors.get(key).shape()));
        SafeTensors.write(file, tensors);
        try (PeftModel ok = Gpt2.causalLm(dir, "gpt2-f32")) {
            assertEquals(DataType.FLOAT32, ok.parameter(key).parameter().getArray().getDataType(), "float32 holds it");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpt2.causalLm(dir, "gpt2-f16",
                DecoderLoadOptions.builder().frozenWeights(DataType.FLOAT16).build()));
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("65504"), e.getMessage());
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

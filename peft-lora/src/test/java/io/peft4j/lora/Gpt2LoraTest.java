package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.gpt2.GPT2LMHeadModel;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Module;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * LoRA on GPT-2's fused {@code c_attn}, a {@code Conv1D} whose weight is stored {@code [in, out]}: HF
 * PEFT's default target, {@code fan_in_fan_out} set to true as HF PEFT sets it, the forward and the
 * merged weight against the closed form {@code x (W + scaling (B A)^T) + b} in float64, and HF PEFT's keys.
 */
class Gpt2LoraTest {
    private static final Gpt2Config CONFIG = Gpt2Config.builder().vocabSize(20).nPositions(8).nEmbd(8).nLayer(2).nHead(2).build();
    private static final String C_ATTN = "transformer.h.0.attn.c_attn";
    private static final int R = 2;
    private static final float ALPHA = 4f;
    private static final long[] IDS = {1, 7, 3, 12};

    @TempDir
    Path dir;

    private static PeftAdapter<LoraConfig> wrap(PeftModel model) {
        // RANDOM: B is not zero, so the adapter changes the output and the closed form is not trivially W.
        return Peft.wrap(model, LoraConfig.builder().r(R).loraAlpha(ALPHA).initLoraWeights(InitLoraWeights.RANDOM).build());
    }

    @Test
    void theDefaultTargetIsCAttnAndFanInFanOutIsRecordedTrue() throws Exception {
        Compute.seed(3);
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2")) {
            PeftAdapter<LoraConfig> adapter = wrap(model);
            Set<String> wrapped = new TreeSet<>();
            for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
                if (e.getValue() instanceof LoraLayer) {
                    wrapped.add(e.getKey());
                }
            }
            assertEquals(Set.of("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"), wrapped);
            assertTrue(((LoraConfig) model.adapters().get("default")).fanInFanOut(),
                    "HF PEFT sets fan_in_fan_out=True for Conv1D targets");

            adapter.save(dir);
            JsonNode saved = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
            assertTrue(saved.get("fan_in_fan_out").asBoolean());
            Map<String, long[]> shapes = new TreeMap<>();
            for (Map.Entry<String, Tensor> e : SafeTensors.read(dir.resolve("adapter_model.safetensors")).tensors().entrySet()) {
                shapes.put(e.getKey(), e.getValue().shape());
            }
            // HF PEFT's shapes on Conv1D are those on Linear: lora_A [r, in], lora_B [out, r], with in = 8, out = 3 * 8.
            Map<String, long[]> want = new TreeMap<>();
            for (int l = 0; l < 2; l++) {
                want.put("base_model.model.transformer.h." + l + ".attn.c_attn.lora_A.weight", new long[] {R, 8});
                want.put("base_model.model.transformer.h." + l + ".attn.c_attn.lora_B.weight", new long[] {24, R});
            }
            assertEquals(want.keySet(), shapes.keySet());
            want.forEach((k, v) -> assertEquals(Arrays.toString(v), Arrays.toString(shapes.get(k)), k));
        }
    }

    /** Tolerance 1e-5: float32 sums of 8 + 2 products of order-1 values against float64. */
    @Test
    void forwardAndMergeFollowTheClosedFormWithTheInOutWeight() {
        Compute.seed(4);
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2"); NDManager m = model.manager().newSubManager()) {
            Conv1D base = (Conv1D) model.module(C_ATTN);
            double[] w = doubles(base.weight().toFloatArray()); // [in = 8, out = 24]
            double[] b = doubles(base.bias().toFloatArray());
            wrap(model);
            LoraLinear layer = (LoraLinear) model.module(C_ATTN);
            double[] a = doubles(layer.loraA("default").toFloatArray()); // [r, in]
            double[] bb = doubles(layer.loraB("default").toFloatArray()); // [out, r]
            double scaling = ALPHA / R;
            int in = 8;
            int out = 24;
            double[] merged = new double[in * out]; // W + scaling (B A)^T, [in, out]
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    double ba = 0;
                    for (int k = 0; k < R; k++) {
                        ba += bb[o * R + k] * a[k * in + i];
                    }
                    merged[i * out + o] = w[i * out + o] + scaling * ba;
                }
            }
            Random rnd = new Random(9);
            float[] x = new float[3 * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] y = layer.forward(new ParameterStore(m, false), new NDList(m.create(x, new Shape(1, 3, in))), false)
                    .singletonOrThrow().toFloatArray();
            for (int p = 0; p < 3; p++) {
                for (int o = 0; o < out; o++) {
                    double want = b[o];
                    for (int i = 0; i < in; i++) {
                        want += x[p * in + i] * merged[i * out + o];
                    }
                    assertEquals(want, y[p * out + o], 1e-5, "position " + p + " output " + o);
                }
            }

            float[] unmerged = logits(model, m);
            LoraModel.of(model).merge();
            float[] stored = base.weight().toFloatArray();
            assertEquals(in * out, stored.length, "the merged weight stays [in, out]");
            for (int i = 0; i < stored.length; i++) {
                assertEquals(merged[i], stored[i], 1e-6, "merged c_attn weight element " + i);
            }
            float[] afterMerge = logits(model, m);
            for (int i = 0; i < unmerged.length; i++) {
                assertEquals(unmerged[i], afterMerge[i], 1e-5, "logit " + i + ": merged vs unmerged");
            }
        }
    }

    /**
     * QLoRA on GPT-2 (all-linear): every Conv1D projection becomes a 4-bit layer (transformers'
     * bitsandbytes integration quantizes Conv1D too), the head stays the tied embedding; merging with
     * DEQUANTIZE gives Conv1D layers again, [in, out] as in the checkpoint, holding
     * {@code dequant(W)^T + scaling (B A)^T}, and the same logits as the unmerged adapter (1e-5: float32
     * sums over 8 to 32 products of order-1 values).
     */
    @Test
    void qloraQuantizesTheConv1DProjectionsAndMergesBackToConv1D() {
        Compute.seed(8);
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2"); NDManager m = model.manager().newSubManager()) {
            QLora.wrap(model, LoraConfig.builder().r(R).loraAlpha(ALPHA).allLinear().initLoraWeights(InitLoraWeights.RANDOM)
                    .build(), io.peft4j.core.quant.QuantizationConfig.nf4());
            Set<String> quantized = new TreeSet<>();
            for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
                if (e.getValue() instanceof io.peft4j.core.quant.QuantizedLinear) {
                    quantized.add(e.getKey());
                }
            }
            Set<String> want = new TreeSet<>();
            for (int l = 0; l < 2; l++) {
                for (String p : new String[] {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}) {
                    want.add("transformer.h." + l + "." + p + ".base_layer");
                }
            }
            assertEquals(want, quantized);
            LoraLinear layer = (LoraLinear) model.module(C_ATTN);
            double[] deq = doubles(((io.peft4j.core.quant.QuantizedLinear) layer.base()).dequantizedWeight(m).toFloatArray());
            double[] a = doubles(layer.loraA("default").toFloatArray());
            double[] bb = doubles(layer.loraB("default").toFloatArray());
            float[] unmerged = logits(model, m);

            LoraModel.of(model).mergeAndUnload(QuantizedMerge.DEQUANTIZE);
            Module merged = model.module(C_ATTN);
            assertTrue(merged instanceof Conv1D, "merged back to " + merged.getClass().getSimpleName());
            float[] stored = ((Conv1D) merged).weight().toFloatArray();
            int in = 8;
            int out = 24;
            double scaling = ALPHA / R;
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    double ba = 0;
                    for (int k = 0; k < R; k++) {
                        ba += bb[o * R + k] * a[k * in + i];
                    }
                    assertEquals(deq[o * in + i] + scaling * ba, stored[i * out + o], 1e-6, "merged c_attn [" + i + ", " + o + "]");
                }
            }
            float[] after = logits(model, m);
            for (int i = 0; i < unmerged.length; i++) {
                assertEquals(unmerged[i], after[i], 1e-5, "logit " + i + ": merged vs unmerged");
            }
        }
    }

    /** Greedy ids with the cache: the same through the unmerged adapter and after merging it (logits agree to 1e-5 above). */
    @Test
    void generationWithTheUnmergedAndTheMergedAdapterGivesTheSameIds() {
        Compute.seed(6);
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2")) {
            wrap(model);
            Generator g = Generator.builder(model)
                    .config(GenerationConfig.builder().maxNewTokens(4).eosTokenIds(java.util.List.of()).build()).build();
            long[] unmerged = g.generate(new long[][] {IDS}).tokens(0);
            LoraModel.of(model).merge();
            assertEquals(Arrays.toString(unmerged), Arrays.toString(g.generate(new long[][] {IDS}).tokens(0)));
        }
    }

    @Test
    void pissaIsRefusedOnConv1D() {
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.wrap(model,
                    LoraConfig.builder().r(R).initLoraWeights(InitLoraWeights.PISSA).build()));
            assertTrue(e.getMessage().contains("not on Conv1D"), e.getMessage());
            assertTrue(model.module(C_ATTN) instanceof Conv1D, "a refused config leaves the model unchanged");
        }
    }

    /** Random ids as a causal-LM dataset: four sequences of six tokens, labels = ids. */
    private static Batches randomSequences() {
        Random rnd = new Random(17);
        long[][] seqs = new long[4][6];
        for (long[] s : seqs) {
            for (int i = 0; i < s.length; i++) {
                s[i] = rnd.nextInt(CONFIG.vocabSize());
            }
        }
        return new Batches() {
            @Override
            public int size() {
                return seqs.length;
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                long[] flat = new long[indices.length * 6];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(seqs[indices[i]], 0, flat, i * 6, 6);
                }
                NDArray ids = m.create(flat, new Shape(indices.length, 6));
                return Batch.builder(indices.length).put(Batch.INPUT_IDS, ids).put(Batch.LABELS, ids).build();
            }
        };
    }

    private static float loss(PeftModel model, Batches data) {
        try (NDManager m = model.manager().newSubManager()) {
            return new CausalLanguageModeling().loss(model, data.batch(m, new int[] {0, 1, 2, 3}), false).getFloat();
        }
    }

    /** Causal-LM training through LoRA on c_attn lowers the loss, and later steps leave no array behind in the model's manager. */
    @Test
    void trainingLowersTheLossAndKeepsTheArrayCountFlat() {
        Compute.seed(5);
        try (PeftModel model = Gpt2.randomCausalLm(CONFIG, "random-gpt2")) {
            Peft.wrap(model, LoraConfig.builder().r(R).loraAlpha(ALPHA).build());
            Batches data = randomSequences();
            float before = loss(model, data);
            int steps = 12;
            int[] counts = new int[2];
            TrainingConfig config = TrainingConfig.builder().epochs(steps).batchSize(4).learningRate(1e-2f).progressBar(false).build();
            new Trainer(model, new CausalLanguageModeling(), config).onStep(s -> {
                if (s == 3) {
                    counts[0] = Memory.managedArrays(model.manager());
                } else if (s == steps) {
                    counts[1] = Memory.managedArrays(model.manager());
                }
            }).fit(data, null);
            float after = loss(model, data);
            assertTrue(after < before, "loss after " + steps + " steps " + after + " should be below " + before);
            assertTrue(counts[0] > 0);
            assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 3 vs step " + steps);
        }
    }

    private static float[] logits(PeftModel model, NDManager m) {
        NDArray ids = m.create(IDS, new Shape(1, IDS.length));
        return ((GPT2LMHeadModel) model.root()).logits(new ParameterStore(m, false), ForwardContext.builder().inputIds(ids).build(),
                false).logits().toFloatArray();
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}

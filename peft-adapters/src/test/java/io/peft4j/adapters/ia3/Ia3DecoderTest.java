package io.peft4j.adapters.ia3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

/**
 * IA3 on the decoder families (stories260K Llama, a random GPT-2 with Conv1D layers) and on a 4-bit
 * base: HF PEFT's default targets and feed-forward modules per family, trainable counts in closed
 * form from the model configs, the model equal to the base at init, training, and merging.
 */
class Ia3DecoderTest {
    private static Batches stories() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            seqs[s] = Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids")));
        }
        int t = seqs[0].length;
        return new Batches() {
            @Override
            public int size() {
                return seqs.length;
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                long[] flat = new long[indices.length * t];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(seqs[indices[i]], 0, flat, i * t, t);
                }
                NDArray ids = m.create(flat, new Shape(indices.length, t));
                return Batch.builder(indices.length).put(Batch.INPUT_IDS, ids).put(Batch.LABELS, ids).build();
            }
        };
    }

    private static float loss(PeftModel model, Batches data) {
        try (NDManager m = model.manager().newSubManager()) {
            return new CausalLanguageModeling().loss(model, data.batch(m, new int[] {0, 1, 2}), false).getFloat();
        }
    }

    private static float[] logits(PeftModel model, long[] ids) {
        try (NDManager m = model.manager().newSubManager()) {
            Batch b = Batch.builder(1).put(Batch.INPUT_IDS, m.create(ids, new Shape(1, ids.length))).build();
            return model.forward(b, false).lastHiddenState().toFloatArray();
        }
    }

    @Test
    void llamaDefaultsStartEqualToTheBaseAndTrain() throws Exception {
        Compute.seed(11);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Batches data = stories();
            float before = loss(model, data);
            Ia3Model ia3 = Ia3Model.wrap(model, Ia3Config.builder().build());
            Map<String, Boolean> wrapped = new TreeMap<>();
            ia3.layers().forEach((k, v) -> wrapped.put(k, v.isFeedforward()));
            Map<String, Boolean> want = new TreeMap<>();
            for (int i = 0; i < 5; i++) {
                want.put("model.layers." + i + ".self_attn.k_proj", false);
                want.put("model.layers." + i + ".self_attn.v_proj", false);
                want.put("model.layers." + i + ".mlp.down_proj", true);
            }
            assertEquals(want, wrapped);
            // config.json: 4 key/value heads of head_dim 8 (k, v outputs 32 each), intermediate_size 172 (down_proj input).
            assertEquals(5L * (32 + 32 + 172), model.trainableReport().trainable());
            assertEquals(before, loss(model, data), 0f, "ones: the adapted model is the base");

            TrainingConfig cfg = TrainingConfig.builder().epochs(3).batchSize(3).learningRate(5e-2f).progressBar(false).build();
            new Trainer(model, new CausalLanguageModeling(), cfg).fit(data, null);
            float after = loss(model, data);
            assertTrue(after < before, "loss " + before + " -> " + after);
        }
    }

    @Test
    void gpt2DefaultsOnConv1DMergeToTheSameOutput() {
        Compute.seed(12);
        Gpt2Config c = Gpt2Config.builder().vocabSize(20).nPositions(8).nEmbd(8).nLayer(2).nHead(2).build();
        long[] ids = {1, 7, 3, 12, 5};
        try (PeftModel model = Gpt2.randomCausalLm(c, "random-gpt2")) {
            float[] base = logits(model, ids);
            Ia3Model ia3 = Ia3Model.wrap(model, Ia3Config.builder().build());
            Map<String, Boolean> wrapped = new TreeMap<>();
            ia3.layers().forEach((k, v) -> wrapped.put(k, v.isFeedforward()));
            assertEquals(Map.of("transformer.h.0.attn.c_attn", false, "transformer.h.0.mlp.c_proj", true,
                    "transformer.h.1.attn.c_attn", false, "transformer.h.1.mlp.c_proj", true), wrapped);
            assertTrue(ia3.layers().get("transformer.h.0.attn.c_attn").baseLayer() instanceof Conv1D);
            // c_attn outputs 3 * n_embd = 24; mlp.c_proj inputs n_inner = 4 * n_embd = 32.
            assertEquals(2L * (24 + 32), model.trainableReport().trainable());
            assertArrayEquals(base, logits(model, ids));

            for (Ia3Layer l : ia3.layers().values()) {
                float[] v = new float[(int) l.vectorShape().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (1 + 0.4 * Math.cos(i * 0.7));
                }
                l.scale("default").set(v);
            }
            float[] unmerged = logits(model, ids);
            ia3.merge();
            float[] merged = logits(model, ids);
            // float32 rounding through two blocks of width 8: 1e-5 absolute.
            for (int i = 0; i < merged.length; i++) {
                assertEquals(unmerged[i], merged[i], 1e-5, "logit " + i);
            }
        }
    }

    /**
     * On an NF4 base, merging dequantizes, scales and quantizes again: the result must equal core's
     * quantizer applied to {@code dequant(W) * l}, computed here independently of the IA3 layer.
     */
    @Test
    void fourBitMergeIsDequantizeScaleRequantize() {
        try (PeftModel m = TinyBert.classifier(13, 0f)) {
            QuantizationConfig nf4 = QuantizationConfig.builder().skipModules("classifier").build();
            ModelQuantizer.quantizeLinears(m, nf4);
            Ia3Model ia3 = Ia3Model.wrap(m, Ia3Config.builder().build());
            Map<String, float[]> expected = new TreeMap<>();
            for (Map.Entry<String, Ia3Layer> e : ia3.layers().entrySet()) {
                Ia3Layer l = e.getValue();
                QuantizedLinear q = (QuantizedLinear) l.baseLayer();
                float[] v = new float[(int) l.vectorShape().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (0.75 + 0.5 * Math.sin(i));
                }
                l.scale("default").set(v);
                int out = (int) q.outFeatures();
                int in = (int) q.inFeatures();
                try (NDManager tmp = m.manager().newSubManager()) {
                    float[] w = q.dequantizedWeight(tmp).toFloatArray();
                    for (int o = 0; o < out; o++) {
                        for (int i = 0; i < in; i++) {
                            w[o * in + i] *= l.isFeedforward() ? v[i] : v[o];
                        }
                    }
                    Linear dense = new Linear(in, out, false);
                    dense.setParameterArray("weight", tmp.create(w, new Shape(out, in)));
                    QuantizedLinear requantized = QuantizedLinear.quantize(dense, nf4, tmp, e.getKey());
                    expected.put(e.getKey(), requantized.dequantizedWeight(tmp).toFloatArray());
                    requantized.closeWeight();
                }
            }
            ia3.merge();
            for (Map.Entry<String, Ia3Layer> e : ia3.layers().entrySet()) {
                QuantizedLinear q = (QuantizedLinear) e.getValue().baseLayer();
                try (NDManager tmp = m.manager().newSubManager()) {
                    assertArrayEquals(expected.get(e.getKey()), q.dequantizedWeight(tmp).toFloatArray(), e.getKey());
                }
            }
        }
    }
}

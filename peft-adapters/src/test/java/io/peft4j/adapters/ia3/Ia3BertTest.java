package io.peft4j.adapters.ia3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * IA3 on a tiny BERT (hidden 32, intermediate 64, two layers): HF PEFT's default targets and
 * feed-forward modules, the layer forward against the closed form in double, merge, HF PEFT's file
 * layout, load failures and training. Expected values come from HF PEFT's definitions and the closed
 * form computed here, never from the code under test.
 */
class Ia3BertTest {
    private static final String KEY = "bert.encoder.layer.0.attention.self.key";
    private static final String FF = "bert.encoder.layer.0.output.dense";

    @TempDir
    Path dir;

    private static float[] logits(PeftModel m, Batches data) {
        try (NDManager step = m.manager().newSubManager()) {
            return m.forward(data.batch(step, new int[] {0, 1, 2, 3}), false).logits().toFloatArray();
        }
    }

    private static Set<String> trainableNames(PeftModel m) {
        Set<String> out = new TreeSet<>();
        m.trainableParameters().forEach(p -> out.add(p.name()));
        return out;
    }

    @Test
    void defaultsAreHfPeftsAndTheAdaptedModelStartsEqualToTheBase() {
        Batches data = TinyBert.task(4, 1);
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            float[] base = logits(m, data);
            Ia3Model ia3 = Ia3Model.wrap(m, Ia3Config.builder().build());
            Map<String, Boolean> wrapped = new TreeMap<>();
            ia3.layers().forEach((k, v) -> wrapped.put(k, v.isFeedforward()));
            Map<String, Boolean> want = new TreeMap<>();
            for (int i = 0; i < 2; i++) {
                String p = "bert.encoder.layer." + i + ".";
                want.put(p + "attention.self.key", false);
                want.put(p + "attention.self.value", false);
                // HF PEFT's feed-forward check is a plain endswith: attention.output.dense is feed-forward too.
                want.put(p + "attention.output.dense", true);
                want.put(p + "output.dense", true);
            }
            assertEquals(want, wrapped);
            Ia3Config recorded = ia3.config("default");
            assertEquals(java.util.List.of("key", "value", "output.dense"), recorded.targetModules());
            assertEquals(java.util.List.of("output.dense"), recorded.feedforwardModules());
            // Closed form per layer: key 32 + value 32 (outputs) + attention.output.dense 32 + output.dense 64 (inputs).
            assertEquals(2L * (32 + 32 + 32 + 64), m.trainableReport().trainable());
            for (String n : trainableNames(m)) {
                assertTrue(n.endsWith(".ia3_l.default"), n);
            }
            // Ones: exactly the base, bit for bit (output scaling by 1, input scaling adds W (x * 0)).
            assertArrayEquals(base, logits(m, data));
        }
    }

    /** y = (W x + b) * l (output) and y = W (x * l) + b (feed-forward), in double from the layer's own weights. */
    private static double[] reference(Linear base, float[] x, float[] l, boolean feedforward) {
        float[] w = base.weight().toFloatArray();
        float[] b = base.bias().toFloatArray();
        int out = (int) base.outFeatures();
        int in = (int) base.inFeatures();
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) {
                s += (double) w[o * in + i] * x[i] * (feedforward ? l[i] : 1);
            }
            y[o] = feedforward ? s + b[o] : (s + b[o]) * l[o];
        }
        return y;
    }

    private static float[] run(Module layer, float[] x) {
        try (NDManager step = layer.getParameters().get(0).getValue().getArray().getManager().newSubManager()) {
            NDArray in = step.create(x, new Shape(1, x.length));
            return layer.forward(new ParameterStore(step, false), new NDList(in), false).singletonOrThrow().toFloatArray();
        }
    }

    private static float[] pattern(int n, double phase) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (1 + 0.5 * Math.sin(phase + i));
        }
        return v;
    }

    @Test
    void layersMatchTheClosedFormAndMergingKeepsTheOutput() {
        Batches data = TinyBert.task(4, 2);
        try (PeftModel m = TinyBert.classifier(4, 0f)) {
            Ia3Model ia3 = Ia3Model.wrap(m, Ia3Config.builder().build());
            for (Ia3Layer l : ia3.layers().values()) {
                Shape s = l.vectorShape();
                l.scale("default").set(pattern((int) s.size(), s.get(0)));
            }
            Ia3Layer key = ia3.layers().get(KEY);
            Ia3Layer ff = ia3.layers().get(FF);
            float[] x32 = pattern(32, 0.3);
            float[] x64 = pattern(64, 0.7);
            double[] wantKey = reference((Linear) key.baseLayer(), x32, key.scale("default").toFloatArray(), false);
            double[] wantFf = reference((Linear) ff.baseLayer(), x64, ff.scale("default").toFloatArray(), true);
            float[] gotKey = run(key, x32);
            float[] gotFf = run(ff, x64);
            // float32 sums of 32 or 64 products of magnitude ~1: 1e-5 covers the rounding.
            for (int i = 0; i < wantKey.length; i++) {
                assertEquals(wantKey[i], gotKey[i], 1e-5, "key y[" + i + "]");
                assertEquals(wantFf[i], gotFf[i], 1e-5, "feed-forward y[" + i + "]");
            }

            float[] unmerged = logits(m, data);
            Map<String, float[]> before = Weights.snapshot(m);
            ia3.merge();
            float[] merged = logits(m, data);
            for (int i = 0; i < merged.length; i++) {
                assertEquals(unmerged[i], merged[i], 1e-5, "merged logit " + i);
            }
            ia3.unmerge();
            // Unmerge divides by l + 1e-8 (HF PEFT): the weights come back up to float32 rounding.
            Map<String, float[]> after = Weights.snapshot(m);
            before.forEach((k, v) -> {
                float[] a = after.get(k);
                for (int i = 0; i < v.length; i++) {
                    assertEquals(v[i], a[i], 1e-6 * Math.max(1, Math.abs(v[i])), k);
                }
            });
            PeftModel plain = ia3.mergeAndUnload();
            assertTrue(ia3.layers().isEmpty());
            assertTrue(plain.module(FF) instanceof Linear);
            float[] unloaded = logits(plain, data);
            for (int i = 0; i < unloaded.length; i++) {
                assertEquals(unmerged[i], unloaded[i], 1e-5, "merge-and-unload logit " + i);
            }
        }
    }

    @Test
    void savesHfPeftsLayoutAndLoadsItBitExact() throws Exception {
        Batches data = TinyBert.task(4, 3);
        float[] want;
        Map<String, float[]> saved = new TreeMap<>();
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            PeftAdapter<Ia3Config> a = Peft.wrap(m, Ia3Config.builder().taskType("SEQ_CLS").build());
            Ia3Model.of(m).layers().values().forEach(l -> l.scale("default").set(pattern((int) l.vectorShape().size(), 2)));
            a.save(dir);
            want = logits(m, data);
            for (NamedParameter p : m.trainableParameters()) {
                saved.put(p.name(), p.parameter().getArray().toFloatArray());
            }
        }
        JsonNode config = new ObjectMapper().readTree(Files.readString(dir.resolve("adapter_config.json")));
        assertEquals("IA3", config.get("peft_type").asText());
        assertTrue(config.get("inference_mode").asBoolean());
        assertEquals("output.dense", config.get("feedforward_modules").get(0).asText());
        assertFalse(config.get("fan_in_fan_out").asBoolean());
        assertTrue(config.get("init_ia3_weights").asBoolean());
        Map<String, Tensor> tensors = SafeTensors.read(dir.resolve("adapter_model.safetensors")).tensors();
        Set<String> keys = new TreeSet<>(tensors.keySet());
        assertTrue(keys.contains("base_model.model." + FF + ".ia3_l"), keys.toString());
        assertArrayEquals(new long[] {1, 64}, tensors.get("base_model.model." + FF + ".ia3_l").shape());
        assertArrayEquals(new long[] {32, 1}, tensors.get("base_model.model." + KEY + ".ia3_l").shape());
        // SEQ_CLS adds the classifier to modules_to_save, as HF PEFT does: 8 vectors + classifier weight and bias.
        assertTrue(keys.contains("base_model.model.classifier.weight"), keys.toString());
        assertEquals(10, keys.size(), keys.toString());

        try (PeftModel fresh = TinyBert.classifier(5, 0f)) {
            Peft.load(fresh, dir);
            assertArrayEquals(want, logits(fresh, data));
            for (Ia3Layer l : Ia3Model.of(fresh).layers().values()) {
                assertTrue(l.adapterNames().contains("default"));
            }
            assertTrue(fresh.trainableParameters().isEmpty(), "loaded for inference");
        }
        try (PeftModel fresh = TinyBert.classifier(5, 0f)) {
            Peft.load(fresh, dir, true);
            Map<String, float[]> loaded = new TreeMap<>();
            fresh.trainableParameters().forEach(p -> loaded.put(p.name(), p.parameter().getArray().toFloatArray()));
            assertEquals(saved.keySet(), loaded.keySet());
            saved.forEach((k, v) -> assertArrayEquals(v, loaded.get(k), k));
        }
    }

    @Test
    void aFileForAnotherModelFailsClearlyAndLeavesTheModelAsItWas() throws Exception {
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            Peft.wrap(m, Ia3Config.builder().build()).save(dir);
        }
        Map<String, Tensor> tensors = new TreeMap<>(SafeTensors.read(dir.resolve("adapter_model.safetensors")).tensors());
        tensors.put("base_model.model." + KEY + ".ia3_l", Tensor.ofFloats(new float[48], 48, 1));
        SafeTensors.write(dir.resolve("adapter_model.safetensors"), tensors);
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            Set<String> modules = new TreeSet<>(m.namedModules().keySet());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(m, dir));
            assertTrue(e.getMessage().contains(KEY + ".ia3_l") && e.getMessage().contains("[48, 1]"), e.getMessage());
            assertEquals(modules, new TreeSet<>(m.namedModules().keySet()));
            Map<String, float[]> after = Weights.snapshot(m);
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
            assertTrue(m.adapters().isEmpty());
        }
        assertThrows(IllegalArgumentException.class,
                () -> Ia3Config.builder().targetModules("key").feedforwardModules("output.dense").build(),
                "feedforward_modules must be a subset of target_modules");
    }

    @Test
    void trainingChangesOnlyTheScalesAndLowersTheLoss() {
        Batches data = TinyBert.task(64, 7);
        try (PeftModel m = TinyBert.classifier(8, 0f)) {
            Ia3Model.wrap(m, Ia3Config.builder().modulesToSave("classifier").build());
            Map<String, float[]> before = Weights.snapshot(m);
            Set<String> trained = trainableNames(m);
            for (String n : trained) {
                assertTrue(n.endsWith(".ia3_l.default") || n.startsWith("classifier."), n);
            }
            Trainer t = new Trainer(m, TrainingConfig.builder().epochs(3).batchSize(16).learningRate(3e-2f)
                    .progressBar(false).build());
            float first = (float) t.evaluate(data).get("loss");
            t.fit(data, null);
            float last = (float) t.evaluate(data).get("loss");
            assertTrue(last < first, "loss " + first + " -> " + last);
            Map<String, float[]> after = Weights.snapshot(m);
            before.forEach((k, v) -> {
                if (!trained.contains(k)) {
                    assertArrayEquals(v, after.get(k), "frozen " + k);
                }
            });
            assertTrue(after.keySet().stream().anyMatch(k -> k.contains(".ia3_l.")
                    && !java.util.Arrays.equals(before.get(k), after.get(k))), "the scales trained");
        }
    }

    @Test
    void eachAdapterGivesItsOwnOutputAndDeletingRestoresTheBase() {
        Batches data = TinyBert.task(4, 9);
        try (PeftModel m = TinyBert.classifier(10, 0f)) {
            float[] base = logits(m, data);
            Ia3Model ia3 = Ia3Model.wrap(m, Ia3Config.builder().build());
            ia3.addAdapter("keys", Ia3Config.builder().targetModules("key").feedforwardModules().build());
            assertEquals("default", ia3.activeAdapter(), "the first adapter stays active");
            for (Ia3Layer l : ia3.layers().values()) {
                l.scale("default").set(pattern((int) l.vectorShape().size(), 0.5));
                if (l.hasAdapter("keys")) {
                    l.scale("keys").set(pattern((int) l.vectorShape().size(), 2.5));
                }
            }
            float[] first = logits(m, data);
            ia3.setAdapter("keys");
            float[] second = logits(m, data);
            assertFalse(java.util.Arrays.equals(first, second));
            assertFalse(java.util.Arrays.equals(base, second));
            for (String n : trainableNames(m)) {
                assertTrue(n.endsWith(".ia3_l.keys") && n.contains(".key."), n);
            }
            ia3.deleteAdapter("keys");
            assertEquals("default", ia3.activeAdapter());
            assertArrayEquals(first, logits(m, data));
            ia3.deleteAdapter("default");
            assertTrue(m.module(KEY) instanceof Linear, "a layer without adapters is its base again");
            assertArrayEquals(base, logits(m, data));
        }
    }
}

package io.peft4j.adapters.bottleneck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.BertResidualOutput;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Bottleneck adapters on a tiny BERT (hidden 32, intermediate 64, two layers; reduction factor 16, so
 * the bottleneck is 2 wide): the model equals the base at init, the adapted sub-layer against
 * AdapterHub's formulas in double ({@link BottleneckReference}), trainable counts in closed form,
 * training, peft4j's files, load failures and the multi-adapter lifecycle.
 */
class BottleneckBertTest {
    private static final String OUT0 = "bert.encoder.layer.0.output";
    private static final String ATT0 = "bert.encoder.layer.0.attention.output";
    private static final double EPS = TinyBert.config(0f).layerNormEps();

    @TempDir
    Path dir;

    static float[] logits(PeftModel m, Batches data) {
        try (NDManager step = m.manager().newSubManager()) {
            return m.forward(data.batch(step, new int[] {0, 1, 2, 3}), false).logits().toFloatArray();
        }
    }

    /** Sets every parameter of the adapter to a fixed non-zero pattern, so that it changes the output. */
    static void perturb(BottleneckModel bn, String name) {
        int[] k = {0};
        for (NamedParameter p : bn.parameters(name)) {
            NDArray a = p.parameter().getArray();
            float[] v = new float[(int) a.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (0.3 * Math.sin(1.7 * i + k[0]));
            }
            a.set(v);
            k[0]++;
        }
    }

    private static double[] pattern(int n, double phase) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = Math.cos(phase + 0.9 * i);
        }
        return v;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    static void assertPlaceMatchesReference(PeftModel m, String path, String name) {
        BottleneckOutput place = (BottleneckOutput) m.module(path);
        int in = (int) ((io.peft4j.core.nn.Linear) place.child("dense")).inFeatures();
        double[] x = pattern(in, 0.4);
        double[] r = pattern(32, 1.1);
        // Inputs rounded to float32 first, so the reference and the model see the same numbers.
        double[] xr = new double[in];
        double[] rr = new double[32];
        for (int i = 0; i < in; i++) {
            xr[i] = (float) x[i];
        }
        for (int i = 0; i < 32; i++) {
            rr[i] = (float) r[i];
        }
        double[] want = BottleneckReference.output(place, name, xr, rr, EPS);
        float[] got;
        try (NDManager step = m.manager().newSubManager()) {
            NDList in2 = new NDList(step.create(toFloat(x), new Shape(1, in)), step.create(toFloat(r), new Shape(1, 32)));
            got = place.forward(new ParameterStore(step, false), in2, false).singletonOrThrow().toFloatArray();
        }
        // Layer-normed outputs of magnitude ~1 after float32 sums of <= 64 terms: 1e-4 absolute.
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-4, path + " y[" + i + "]");
        }
    }

    @Test
    void pfeifferSitsAfterTheFeedForwardOnlyAndStartsEqualToTheBase() {
        Batches data = TinyBert.task(4, 1);
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            float[] base = logits(m, data);
            BottleneckModel bn = BottleneckModel.wrap(m, BottleneckConfig.seqBn().build());
            assertEquals(Set.of(OUT0, "bert.encoder.layer.1.output"), bn.layers().keySet());
            // Up-projection zero: the adapter adds exactly 0, so the output is bit for bit the base's.
            assertArrayEquals(base, logits(m, data));
            // Per place: down 2 x 32 + 2, up 32 x 2 + 32 (bottleneck 32 // 16 = 2); two places.
            assertEquals(2L * (2 * 32 + 2 + 32 * 2 + 32), m.trainableReport().trainable());
            for (NamedParameter p : m.trainableParameters()) {
                assertTrue(p.name().contains(".adapters.default.adapter_"), p.name());
            }
            assertTrue(m.parameter(OUT0 + ".adapters.default.adapter_down.0.weight") != null, "AdapterHub's in-model names");
            perturb(bn, "default");
            assertPlaceMatchesReference(m, OUT0, "default");
        }
    }

    @Test
    void houlsbySitsAfterAttentionAndFeedForward() {
        Batches data = TinyBert.task(4, 2);
        try (PeftModel m = TinyBert.classifier(4, 0f)) {
            float[] base = logits(m, data);
            BottleneckModel bn = BottleneckModel.wrap(m, BottleneckConfig.doubleSeqBn().build());
            assertEquals(Set.of(ATT0, OUT0, "bert.encoder.layer.1.attention.output", "bert.encoder.layer.1.output"),
                    bn.layers().keySet());
            assertArrayEquals(base, logits(m, data));
            assertEquals(4L * (2 * 32 + 2 + 32 * 2 + 32), m.trainableReport().trainable());
            perturb(bn, "default");
            assertPlaceMatchesReference(m, ATT0, "default");
            assertPlaceMatchesReference(m, OUT0, "default");
            assertFalse(Arrays.equals(base, logits(m, data)), "a trained adapter changes the output");
            try (AutoCloseable off = bn.disableAdapters()) {
                assertArrayEquals(base, logits(m, data), "disabled: the base");
                assertTrue(m.trainableParameters().isEmpty());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            bn.unload();
            assertTrue(m.module(OUT0) instanceof BertResidualOutput);
            assertArrayEquals(base, logits(m, data), "unloaded: the base");
        }
    }

    @Test
    void trainingChangesOnlyTheAdapterAndHeadAndLowersTheLoss() {
        Batches data = TinyBert.task(64, 7);
        try (PeftModel m = TinyBert.classifier(8, 0f)) {
            BottleneckModel.wrap(m, BottleneckConfig.seqBn().reductionFactor(4).modulesToSave("classifier").build());
            Set<String> trained = new TreeSet<>();
            m.trainableParameters().forEach(p -> trained.add(p.name()));
            for (String n : trained) {
                assertTrue(n.contains(".adapters.default.") || n.startsWith("classifier."), n);
            }
            Map<String, float[]> before = Weights.snapshot(m);
            Trainer t = new Trainer(m, TrainingConfig.builder().epochs(2).batchSize(16).learningRate(1e-2f)
                    .progressBar(false).build());
            double first = t.evaluate(data).get("loss");
            t.fit(data, null);
            double last = t.evaluate(data).get("loss");
            assertTrue(last < first, "loss " + first + " -> " + last);
            Map<String, float[]> after = Weights.snapshot(m);
            before.forEach((k, v) -> {
                if (!trained.contains(k)) {
                    assertArrayEquals(v, after.get(k), "frozen " + k);
                }
            });
            assertFalse(Arrays.equals(before.get(OUT0 + ".adapters.default.adapter_up.weight"),
                    after.get(OUT0 + ".adapters.default.adapter_up.weight")), "the up-projection trained");
        }
    }

    @Test
    void savesPeft4jFilesAndLoadsThemBitExact() throws Exception {
        Batches data = TinyBert.task(4, 3);
        float[] want;
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            BottleneckModel bn = BottleneckModel.wrap(m, BottleneckConfig.doubleSeqBn().lnAfter(true).build());
            perturb(bn, "default");
            bn.save(dir);
            want = logits(m, data);
        }
        JsonNode config = new ObjectMapper().readTree(Files.readString(dir.resolve("adapter_config.json")));
        assertEquals("BOTTLENECK", config.get("peft_type").asText());
        assertEquals("swish", config.get("non_linearity").asText());
        assertEquals(16, config.get("reduction_factor").asInt());
        assertTrue(config.get("mh_adapter").asBoolean() && config.get("ln_after").asBoolean());
        assertTrue(config.get("inference_mode").asBoolean());
        Map<String, Tensor> tensors = SafeTensors.read(dir.resolve("adapter_model.safetensors")).tensors();
        String p = "base_model.model." + OUT0 + ".";
        assertArrayEquals(new long[] {2, 32}, tensors.get(p + "adapter_down.weight").shape());
        assertArrayEquals(new long[] {32, 2}, tensors.get(p + "adapter_up.weight").shape());
        assertArrayEquals(new long[] {32}, tensors.get(p + "adapter_norm_after.weight").shape());
        // 4 places x (down w, b; up w, b; norm_after w, b).
        assertEquals(24, tensors.size(), new TreeSet<>(tensors.keySet()).toString());

        try (PeftModel fresh = TinyBert.classifier(5, 0f)) {
            Peft.load(fresh, dir);
            assertArrayEquals(want, logits(fresh, data));
            assertTrue(fresh.trainableParameters().isEmpty(), "loaded for inference");
            assertThrows(UnsupportedOperationException.class, () -> Peft.load(TinyBert.classifier(5, 0f), dir).mergeAndUnload(),
                    "a non-linear adapter cannot be merged");
        }
    }

    @Test
    void badFilesFailClearlyAndLeaveTheModelAsItWas() throws Exception {
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            BottleneckModel.wrap(m, BottleneckConfig.seqBn().build()).save(dir);
        }
        Map<String, Tensor> tensors = new TreeMap<>(SafeTensors.read(dir.resolve("adapter_model.safetensors")).tensors());
        tensors.remove("base_model.model.bert.encoder.layer.1.output.adapter_up.bias");
        SafeTensors.write(dir.resolve("adapter_model.safetensors"), tensors);
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(m, dir));
            assertTrue(e.getMessage().contains("missing tensor") && e.getMessage().contains("layer.1.output.adapter_up.bias"),
                    e.getMessage());
            assertSame(BertResidualOutput.class, m.module(OUT0).getClass());
            Map<String, float[]> after = Weights.snapshot(m);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
            assertTrue(m.adapters().isEmpty());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BottleneckConfig.seqBn().mhAdapter(false).outputAdapter(false).build());
        assertTrue(e.getMessage().contains("mh_adapter"), e.getMessage());
    }

    @Test
    void eachAdapterGivesItsOwnOutputAndDeletingRestoresTheBase() {
        Batches data = TinyBert.task(4, 4);
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            float[] base = logits(m, data);
            BottleneckModel bn = BottleneckModel.wrap(m, BottleneckConfig.seqBn().build());
            bn.addAdapter("other", BottleneckConfig.doubleSeqBn().leaveOut(1).build());
            assertEquals("default", bn.activeAdapter());
            perturb(bn, "default");
            perturb(bn, "other");
            float[] first = logits(m, data);
            bn.setAdapter("other");
            float[] second = logits(m, data);
            assertFalse(Arrays.equals(first, second));
            for (NamedParameter p : m.trainableParameters()) {
                assertTrue(p.name().contains(".adapters.other."), p.name());
            }
            assertEquals(List.of(ATT0, OUT0, "bert.encoder.layer.1.output"), List.copyOf(bn.layers().keySet()));
            assertPlaceMatchesReference(m, ATT0, "other");
            bn.deleteAdapter("other");
            assertEquals("default", bn.activeAdapter());
            assertArrayEquals(first, logits(m, data));
            assertTrue(m.module(ATT0) instanceof BertResidualOutput, "a place without adapters is the original again");
            bn.deleteAdapter("default");
            assertArrayEquals(base, logits(m, data));
            for (Module mod : m.namedModules().values()) {
                assertFalse(mod instanceof BottleneckOutput);
            }
        }
    }
}

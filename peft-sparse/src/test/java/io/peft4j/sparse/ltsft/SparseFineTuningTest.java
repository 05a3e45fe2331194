package io.peft4j.sparse.ltsft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Trainer;
import io.peft4j.sparse.SparseDelta;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Sparse fine-tunings as values: saved and loaded bit-exact, composed in order, removed exactly, refused cleanly. */
class SparseFineTuningTest {
    private static final String QUERY = "bert.encoder.layer.0.attention.self.query.weight";
    private static final String WORDS = "bert.embeddings.word_embeddings.weight";
    private static final String NORM_BIAS = "bert.encoder.layer.1.output.LayerNorm.bias";
    private static final LtSftConfig CONFIG = LtSftConfig.builder().density(0.05).build();

    @TempDir
    Path dir;

    /** Random distinct indices and N(0, 0.1) values for a tensor of the model. */
    private static SparseDelta random(PeftModel m, String name, int count, long seed) {
        long[] shape = m.parameter(name).parameter().getShape().getShape();
        long numel = Tensor.numel(shape);
        Random r = new Random(seed);
        java.util.TreeSet<Long> idx = new java.util.TreeSet<>();
        while (idx.size() < count) {
            idx.add((long) r.nextInt((int) numel));
        }
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (0.1 * r.nextGaussian());
        }
        return SparseDelta.of(name, shape, idx.stream().mapToLong(Long::longValue).toArray(), v);
    }

    private static SparseFineTuning fineTuning(Map<String, Tensor> dense, SparseDelta... deltas) {
        Map<String, SparseDelta> map = new LinkedHashMap<>();
        for (SparseDelta d : deltas) {
            map.put(d.name(), d);
        }
        return new SparseFineTuning(CONFIG, map, dense);
    }

    /** "Language": query and word embeddings, plus a dense classifier; "task": query (overlapping) and a norm bias. */
    private static List<SparseFineTuning> twoFineTunings(PeftModel m) {
        float[] head = new float[(int) m.parameter("classifier.weight").size()];
        for (int i = 0; i < head.length; i++) {
            head[i] = i * 0.01f - 0.3f;
        }
        SparseFineTuning language = fineTuning(Map.of("classifier.weight", Tensor.ofFloats(head, 2, 32)),
                random(m, QUERY, 200, 1), random(m, WORDS, 300, 2));
        SparseFineTuning task = fineTuning(Map.of(), random(m, QUERY, 200, 3), random(m, NORM_BIAS, 10, 4));
        return List.of(language, task);
    }

    private static void assertSame(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }

    @Test
    void composingEqualsApplyingOneAfterTheOtherAndTheDoubleSum() {
        Map<String, float[]> composed;
        Map<String, float[]> base;
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            base = Weights.snapshot(m);
            List<SparseFineTuning> fts = twoFineTunings(m);
            AppliedSparseFineTunings.apply(m, fts);
            composed = Weights.snapshot(m);
            // Against θ0 + dense(language) + dense(task) in double; two float roundings at most: 1e-6 relative.
            for (String name : List.of(QUERY, WORDS, NORM_BIAS)) {
                double[] want = new double[base.get(name).length];
                for (int i = 0; i < want.length; i++) {
                    want[i] = base.get(name)[i];
                }
                for (SparseFineTuning ft : fts) {
                    SparseDelta d = ft.deltas().get(name);
                    if (d != null) {
                        long[] idx = d.indices();
                        float[] v = d.values();
                        for (int i = 0; i < idx.length; i++) {
                            want[(int) idx[i]] += v[i];
                        }
                    }
                }
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], composed.get(name)[i], 1e-6 * Math.max(1, Math.abs(want[i])), name + "[" + i + "]");
                }
            }
            assertArrayEquals(fts.get(0).dense().get("classifier.weight").toFloatArray(), composed.get("classifier.weight"));
        }
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            List<SparseFineTuning> fts = twoFineTunings(m);
            AppliedSparseFineTunings first = AppliedSparseFineTunings.apply(m, List.of(fts.get(0)));
            AppliedSparseFineTunings second = AppliedSparseFineTunings.apply(m, List.of(fts.get(1)));
            assertSame(composed, Weights.snapshot(m));
            second.remove();
            first.remove();
            assertSame(base, Weights.snapshot(m));
        }
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            AppliedSparseFineTunings.apply(m, twoFineTunings(m)).remove();
            assertSame(base, Weights.snapshot(m));
        }
    }

    @Test
    void aCompositionThatDoesNotFitIsRefusedAndLeavesTheModelUnchanged() {
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            Map<String, float[]> base = Weights.snapshot(m);
            List<SparseFineTuning> fts = twoFineTunings(m);
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                    () -> AppliedSparseFineTunings.apply(m, List.of(fts.get(0), fts.get(1), fts.get(0))));
            assertTrue(twice.getMessage().contains("both carry a dense classifier.weight"), twice.getMessage());
            SparseFineTuning wrongShape = fineTuning(Map.of(),
                    SparseDelta.of(QUERY, new long[] {32, 31}, new long[] {1}, new float[] {1f}));
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> AppliedSparseFineTunings.apply(m, List.of(fts.get(1), wrongShape)));
            assertTrue(shape.getMessage().contains(QUERY) && shape.getMessage().contains("[32, 31]"), shape.getMessage());
            assertSame(base, Weights.snapshot(m));
        }
    }

    @Test
    void saveThenLoadIsBitExact() throws Exception {
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            SparseFineTuning ft = twoFineTunings(m).get(0);
            ft.save(dir);
            SparseFineTuning back = SparseFineTuning.load(dir, m);
            assertEquals(ft.deltas(), back.deltas());
            assertEquals(ft.dense().keySet(), back.dense().keySet());
            assertArrayEquals(ft.dense().get("classifier.weight").toFloatArray(), back.dense().get("classifier.weight").toFloatArray());
            assertEquals(CONFIG, back.config());
            assertTrue(AdapterFiles.readTensors(dir).containsKey(
                    "base_model.model.bert.encoder.layer.0.attention.self.query.sft_delta.values"));
        }
    }

    @Test
    void aTrainedLtSftSavesThroughPeftAndLoadsOntoAFreshBaseAsThetaZeroPlusItsDeltas() throws Exception {
        Map<String, float[]> theta0;
        Map<String, float[]> trained;
        java.util.Map<String, long[]> chosen;
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            theta0 = Weights.snapshot(m);
            PeftAdapter<LtSftConfig> adapter = Peft.wrap(m, CONFIG);
            new Trainer(m, LtSftTrainingTest.config().build()).addCallback(new LtSftTraining(CONFIG))
                    .fit(LtSftTraining.stages(TinyBert.task(16, 4), 1, 1), null);
            trained = Weights.snapshot(m);
            chosen = new LinkedHashMap<>(LotteryTicket.of(m).selected());
            adapter.save(dir);
        }
        try (PeftModel fresh = TinyBert.classifier(9, 0f)) {
            Peft.load(fresh, dir);
            Map<String, float[]> loaded = Weights.snapshot(fresh);
            for (String name : theta0.keySet()) {
                float[] want = theta0.get(name).clone();
                if (!LtSftTrainingTest.maskable(name)) {
                    want = trained.get(name);
                } else {
                    for (long i : chosen.getOrDefault(name, new long[0])) {
                        // θ0 + (θ − θ0), both float32 operations, as the delta is saved and added
                        want[(int) i] = theta0.get(name)[(int) i] + (trained.get(name)[(int) i] - theta0.get(name)[(int) i]);
                    }
                }
                assertArrayEquals(want, loaded.get(name), name);
            }
        }
    }

    @Test
    void filesThatDoNotFitTheModelAreRefusedAndLeaveItUnchanged() throws Exception {
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>(twoFineTunings(m).get(0).tensors());
            tensors.put("base_model.model.bert.pooler.dense.weight", Tensor.ofFloats(new float[4], 2, 2));
            AdapterFiles.write(dir, CONFIG.toJson(), tensors);
            Map<String, float[]> before = Weights.snapshot(m);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(m, dir));
            assertTrue(e.getMessage().contains("bert.pooler.dense"), e.getMessage());
            assertSame(before, Weights.snapshot(m));
        }
    }
}

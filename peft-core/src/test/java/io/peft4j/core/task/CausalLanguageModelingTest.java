package io.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.TinyCausalLm;
import io.peft4j.core.train.EpochResult;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

class CausalLanguageModelingTest {
    private static final int VOCAB = 11;
    private static final int HIDDEN = 6;
    private static final int SEQ = 9; // 8 predicted positions: chunks of 3 leave a remainder

    /** Random sequences, labels = ids with -100 at a random prompt prefix and on a few scattered positions. */
    private static Batches data(int n, long seed) {
        Random r = new Random(seed);
        long[][] ids = new long[n][SEQ];
        long[][] labels = new long[n][SEQ];
        for (int i = 0; i < n; i++) {
            int prompt = r.nextInt(4);
            for (int t = 0; t < SEQ; t++) {
                ids[i][t] = r.nextInt(VOCAB);
                labels[i][t] = t < prompt || r.nextInt(5) == 0 ? -100 : ids[i][t];
            }
        }
        return new Arrays2(ids, labels);
    }

    /** In-memory {@code input_ids} / {@code labels} rows. */
    private static final class Arrays2 implements Batches {
        final long[][] ids;
        final long[][] labels;

        Arrays2(long[][] ids, long[][] labels) {
            this.ids = ids;
            this.labels = labels;
        }

        @Override
        public int size() {
            return ids.length;
        }

        @Override
        public Batch batch(NDManager m, int[] indices) {
            int t = ids[0].length;
            long[] flatIds = new long[indices.length * t];
            long[] flatLabels = new long[flatIds.length];
            for (int i = 0; i < indices.length; i++) {
                System.arraycopy(ids[indices[i]], 0, flatIds, i * t, t);
                System.arraycopy(labels[indices[i]], 0, flatLabels, i * t, t);
            }
            Shape s = new Shape(indices.length, t);
            return Batch.builder(indices.length)
                    .put(Batch.INPUT_IDS, m.create(flatIds, s))
                    .put(Batch.LABELS, m.create(flatLabels, s))
                    .build();
        }

        long[][] rows(int[] idx, boolean labelRows) {
            long[][] out = new long[idx.length][];
            for (int i = 0; i < idx.length; i++) {
                out[i] = (labelRows ? labels : ids)[idx[i]];
            }
            return out;
        }
    }

    private static int[] all(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        return idx;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void lossMatchesDoublePrecisionReferenceChunkedAndNot(boolean tied) {
        Arrays2 d = (Arrays2) data(6, 1);
        int[] idx = all(6);
        try (PeftModel m = TinyCausalLm.create(3, VOCAB, HIDDEN, tied)) {
            double[] ref = TinyCausalLm.reference(m, d.rows(idx, false), d.rows(idx, true));
            double want = ref[0] / ref[1];
            for (CausalLanguageModeling task : List.of(new CausalLanguageModeling(3), new CausalLanguageModeling(1),
                    new CausalLanguageModeling(100), CausalLanguageModeling.unchunked())) {
                try (NDManager sm = m.manager().newSubManager()) {
                    // float32 sums of ~50 terms of size ~3: rounding stays below 1e-5.
                    assertEquals(want, task.loss(m, d.batch(sm, idx), false).getFloat(), 1e-5, "chunk " + task.chunkSize());
                }
                Metrics metrics = task.evaluate(m, d, 4); // two batches: the metrics are token-weighted over both
                assertEquals(want, metrics.get(Metrics.LOSS), 1e-5);
                assertEquals(Math.exp(want), metrics.get(Metrics.PERPLEXITY), 1e-4);
                assertEquals(ref[2] / ref[1], metrics.get(Metrics.TOKEN_ACCURACY), 1e-12);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void chunkedGradientsEqualUnchunkedGradients(boolean tied) {
        Arrays2 d = (Arrays2) data(5, 2);
        try (PeftModel m = TinyCausalLm.create(4, VOCAB, HIDDEN, tied)) {
            m.setAllTrainable(true);
            Map<String, float[]> plain = gradients(m, CausalLanguageModeling.unchunked(), d);
            Map<String, float[]> chunked = gradients(m, new CausalLanguageModeling(3), d);
            assertEquals(plain.keySet(), chunked.keySet());
            for (String k : plain.keySet()) {
                float[] a = plain.get(k);
                float[] b = chunked.get(k);
                double scale = 0;
                for (float v : a) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(scale > 0, k + " has a gradient");
                for (int i = 0; i < a.length; i++) {
                    // Same math summed in another order: float32 rounding, well below 1e-5 of the largest entry.
                    assertEquals(a[i], b[i], 1e-5 * scale + 1e-7, k + "[" + i + "]");
                }
            }
        }
    }

    private static Map<String, float[]> gradients(PeftModel m, CausalLanguageModeling task, Batches d) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (NDManager sm = m.manager().newSubManager()) {
            Batch batch = d.batch(sm, all(d.size()));
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                gc.backward(task.loss(m, batch, true));
            }
            for (NamedParameter p : m.trainableParameters()) {
                NDArray g = p.parameter().getArray().getGradient();
                out.put(p.name(), g.toFloatArray());
                g.subi(g);
            }
        }
        return out;
    }

    @Test
    void onlyIgnoredLabelsGiveZeroLoss() {
        long[][] ids = {{1, 2, 3}};
        long[][] labels = {{-100, -100, -100}};
        try (PeftModel m = TinyCausalLm.create(5, VOCAB, HIDDEN, false);
                NDManager sm = m.manager().newSubManager()) {
            m.setAllTrainable(true);
            Batch b = new Arrays2(ids, labels).batch(sm, new int[] {0});
            assertEquals(0f, new CausalLanguageModeling(2).loss(m, b, true).getFloat());
        }
    }

    @Test
    void refusesModelsWithoutALanguageModelHeadAndMisshapenLabels() {
        try (PeftModel bert = TinyBert.classifier(1, 0f)) {
            try (NDManager sm = bert.manager().newSubManager()) {
                Batch b = TinyBert.task(2, 1).batch(sm, new int[] {0, 1});
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> new CausalLanguageModeling().loss(bert, b, false));
                assertTrue(e.getMessage().contains("CausalLanguageModel"), e.getMessage());
            }
        }
        try (PeftModel m = TinyCausalLm.create(5, VOCAB, HIDDEN, false);
                NDManager sm = m.manager().newSubManager()) {
            Batch b = Batch.builder(1).put(Batch.INPUT_IDS, sm.create(new long[] {1, 2, 3}, new Shape(1, 3)))
                    .put(Batch.LABELS, sm.create(new long[] {1, 2}, new Shape(1, 2))).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new CausalLanguageModeling().loss(m, b, false));
            assertTrue(e.getMessage().contains("'labels' has shape"), e.getMessage());
        }
    }

    @Test
    void trainsEndToEndWithTheTrainer() {
        // Every sequence counts up modulo the vocabulary from a random start: next token = current + 1.
        Random r = new Random(5);
        int n = 64;
        long[][] ids = new long[n][SEQ];
        for (int i = 0; i < n; i++) {
            int start = r.nextInt(VOCAB);
            for (int t = 0; t < SEQ; t++) {
                ids[i][t] = (start + t) % VOCAB;
            }
        }
        Batches train = new Arrays2(ids, ids);
        try (PeftModel m = TinyCausalLm.create(6, VOCAB, 16, false)) {
            m.setAllTrainable(true);
            CausalLanguageModeling task = new CausalLanguageModeling(3);
            Trainer trainer = new Trainer(m, task, TrainingConfig.builder().epochs(8).batchSize(8)
                    .learningRate(3e-2f).seed(1).progressBar(false).build());
            double before = trainer.evaluate(train).get(Metrics.LOSS);
            // Every array a step creates (chunks, head gradients, surrogate) must die with the step.
            int[] arrays = new int[2];
            trainer.onStep(step -> {
                if (step == 8 || step == 64) {
                    arrays[step == 8 ? 0 : 1] = m.manager().getManagedArrays().size();
                }
            });
            List<EpochResult> epochs = trainer.fit(train, null);
            assertEquals(arrays[0], arrays[1], "arrays in the model's manager after steps 8 and 64");
            double after = trainer.evaluate(train).get(Metrics.LOSS);
            assertTrue(after < 0.5 * before, "loss " + before + " -> " + after + ": " + epochs);
        }
    }
}

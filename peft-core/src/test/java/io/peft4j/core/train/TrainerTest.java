package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

class TrainerTest {
    @TempDir
    Path dir;

    private static void assertSameWeights(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }

    private static TrainingConfig.Builder base() {
        return TrainingConfig.builder().epochs(2).batchSize(8).learningRate(3e-3f).warmupRatio(0.1f).weightDecay(0.01f)
                .seed(7).progressBar(false);
    }

    @Test
    void learnsTheSyntheticTask() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            m.setAllTrainable(true);
            Batches train = TinyBert.task(256, 1);
            Batches test = TinyBert.task(128, 2);
            Trainer t = new Trainer(m, base().epochs(6).build());
            double before = t.evaluate(test).get(Metrics.ACCURACY);
            List<EpochResult> r = t.fit(train, test);
            double after = t.evaluate(test).get(Metrics.ACCURACY);
            assertTrue(r.get(r.size() - 1).meanLoss() < r.get(0).meanLoss(), "loss falls: " + r);
            assertTrue(after > 0.9 && after > before + 0.2, "accuracy " + before + " -> " + after);
        }
    }

    @Test
    void sameSeedGivesIdenticalWeights() {
        Map<String, float[]> a;
        Map<String, float[]> b;
        Batches data = TinyBert.task(64, 3);
        try (PeftModel m = TinyBert.classifier(5, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, base().build()).fit(data, null);
            a = Weights.snapshot(m);
        }
        try (PeftModel m = TinyBert.classifier(5, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, base().build()).fit(data, null);
            b = Weights.snapshot(m);
        }
        assertSameWeights(a, b);
    }

    @Test
    void resumedRunMatchesUninterruptedRun() {
        Batches data = TinyBert.task(64, 4); // 8 steps per epoch, 16 in all
        Map<String, float[]> straight;
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, base().build()).fit(data, null);
            straight = Weights.snapshot(m);
        }
        Path ckpt = dir.resolve("ckpt");
        // First run "crashes" after step 11: the listener throws once a checkpoint at step 10 exists.
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            Trainer t = new Trainer(m, base().checkpoints(ckpt, 5).build()).onStep(s -> {
                if (s == 11) {
                    throw new IllegalStateException("simulated crash");
                }
            });
            assertThrows(IllegalStateException.class, () -> t.fit(data, null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            long[] firstStep = {-1};
            new Trainer(m, base().checkpoints(ckpt, 5).build()).onStep(s -> {
                if (firstStep[0] < 0) {
                    firstStep[0] = s;
                }
            }).fit(data, null);
            assertEquals(11, firstStep[0], "resumed after the checkpoint at step 10");
            assertSameWeights(straight, Weights.snapshot(m));
        }
    }

    @Test
    void gradientAccumulationEqualsTheLargerBatch() {
        Batches data = TinyBert.task(32, 6);
        Map<String, float[]> big;
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            m.setAllTrainable(true);
            new Trainer(m, base().epochs(1).batchSize(16).build()).fit(data, null);
            big = Weights.snapshot(m);
        }
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            m.setAllTrainable(true);
            new Trainer(m, base().epochs(1).batchSize(8).gradientAccumulationSteps(2).build()).fit(data, null);
            Map<String, float[]> acc = Weights.snapshot(m);
            for (String k : big.keySet()) {
                float[] x = big.get(k);
                float[] y = acc.get(k);
                for (int i = 0; i < x.length; i++) {
                    // Same gradient summed in a different order: float32 rounding only.
                    assertEquals(x[i], y[i], 1e-5f, k + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void onlyTrainableParametersChange() {
        try (PeftModel m = TinyBert.classifier(2, 0.1f)) {
            m.setAllTrainable(false);
            m.parameter("classifier.weight").parameter().freeze(false);
            Map<String, float[]> before = Weights.snapshot(m);
            new Trainer(m, base().epochs(1).build()).fit(TinyBert.task(32, 1), null);
            Map<String, float[]> after = Weights.snapshot(m);
            for (String k : before.keySet()) {
                boolean changed = !java.util.Arrays.equals(before.get(k), after.get(k));
                assertEquals(k.equals("classifier.weight"), changed, k);
            }
        }
    }

    @Test
    void nanLossStopsWithTheStep() {
        try (PeftModel m = TinyBert.classifier(2, 0.1f)) {
            m.setAllTrainable(true);
            NamedParameter w = m.parameter("classifier.weight");
            float[] nan = new float[(int) w.size()];
            java.util.Arrays.fill(nan, Float.NaN);
            w.module().setParameterArray("weight", m.manager().create(nan, w.parameter().getShape()));
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> new Trainer(m, base().build()).fit(TinyBert.task(16, 1), null));
            assertEquals(0, e.step());
            assertTrue(e.getMessage().contains("step 0"), e.getMessage());
        }
    }

    @Test
    void noTrainableParametersIsAClearError() {
        try (PeftModel m = TinyBert.classifier(2, 0.1f)) {
            m.setAllTrainable(false);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new Trainer(m, base().build()).fit(TinyBert.task(16, 1), null));
            assertTrue(e.getMessage().contains("No trainable parameters"));
        }
    }

    @Test
    void linearScheduleFollowsTransformers() {
        LinearSchedule s = new LinearSchedule(1f, 10, 110);
        assertEquals(0f, s.rate(0), 1e-7);
        assertEquals(0.5f, s.rate(5), 1e-7);
        assertEquals(1f, s.rate(10), 1e-7);
        assertEquals(0.5f, s.rate(60), 1e-7);
        assertEquals(0f, s.rate(110), 1e-7);
    }

    @Test
    void invalidOptionsAreRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingConfig.builder().learningRate(-1).build());
        assertTrue(e.getMessage().contains("learningRate"));
    }
}

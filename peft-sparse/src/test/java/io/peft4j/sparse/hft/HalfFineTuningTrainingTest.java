package io.peft4j.sparse.hft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** HFT driving the trainer over three stages of TinyBert: frozen halves stay put, halves change, resumption is exact. */
class HalfFineTuningTrainingTest {
    private static final HftConfig CONFIG = HftConfig.builder().seed(5).build();

    @TempDir
    Path dir;

    /** Weights and trainable names at every stage boundary (after HFT's draw) and at the end. */
    static final class Recorder implements TrainerCallback {
        final List<Map<String, float[]>> weights = new ArrayList<>();
        final List<Set<String>> trainable = new ArrayList<>();

        @Override
        public String name() {
            return "recorder";
        }

        @Override
        public void onStageBoundary(StepContext s) {
            weights.add(Weights.snapshot(s.model()));
            trainable.add(trainable(s.model()));
        }
    }

    static Set<String> trainable(PeftModel m) {
        return m.trainableParameters().stream().map(NamedParameter::name).collect(Collectors.toCollection(TreeSet::new));
    }

    private static List<Stage> stages(Batches data) {
        return List.of(Stage.builder("s1", data).build(), Stage.builder("s2", data).build(), Stage.builder("s3", data).build());
    }

    private static TrainingConfig.Builder config() {
        // Weight decay on, so a frozen parameter the optimizer still touched would move.
        return TrainingConfig.builder().batchSize(8).learningRate(3e-3f).weightDecay(0.1f).seed(3).progressBar(false);
    }

    @Test
    void eachStageTrainsItsOwnHalfAndLeavesTheOtherHalfBitIdentical() {
        Batches data = TinyBert.task(32, 4); // 4 steps per stage
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            Peft.wrap(m, CONFIG);
            Recorder rec = new Recorder();
            new Trainer(m, config().build()).addCallback(new HalfFineTuning(CONFIG)).addCallback(rec).fit(stages(data), null);
            rec.weights.add(Weights.snapshot(m));
            assertEquals(3, rec.trainable.size());
            assertNotEquals(rec.trainable.get(0), rec.trainable.get(1));
            assertNotEquals(rec.trainable.get(1), rec.trainable.get(2));
            for (int stage = 0; stage < 3; stage++) {
                Set<String> expected = HalfSelection.draw(m, m.family(), CONFIG, stage).parameters(m, m.family(), CONFIG)
                        .stream().map(NamedParameter::name).collect(Collectors.toCollection(TreeSet::new));
                assertEquals(expected, rec.trainable.get(stage), "stage " + stage);
                Map<String, float[]> before = rec.weights.get(stage);
                Map<String, float[]> after = rec.weights.get(stage + 1);
                int moved = 0;
                for (String name : before.keySet()) {
                    if (expected.contains(name)) {
                        moved += java.util.Arrays.equals(before.get(name), after.get(name)) ? 0 : 1;
                    } else {
                        assertArrayEquals(before.get(name), after.get(name), "frozen in stage " + stage + ": " + name);
                    }
                }
                assertTrue(moved > expected.size() / 2, "most trained tensors moved in stage " + stage + ": " + moved);
            }
        }
    }

    @Test
    void aRunResumedMidStageEndsBitIdenticalToTheStraightRun() {
        Batches data = TinyBert.task(32, 4);
        Map<String, float[]> straight;
        Set<String> straightTrainable;
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            Peft.wrap(m, CONFIG);
            new Trainer(m, config().build()).addCallback(new HalfFineTuning(CONFIG)).fit(stages(data), null);
            straight = Weights.snapshot(m);
            straightTrainable = trainable(m);
        }
        Path ckpt = dir.resolve("ckpt");
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            Peft.wrap(m, CONFIG);
            Trainer t = new Trainer(m, config().checkpoints(ckpt, 3).build()).addCallback(new HalfFineTuning(CONFIG))
                    .onStep(s -> {
                        if (s == 7) {
                            throw new IllegalStateException("simulated crash");
                        }
                    });
            assertThrows(IllegalStateException.class, () -> t.fit(stages(data), null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            // Resumed from the checkpoint at step 6, inside the second stage (steps 4..7).
            Peft.wrap(m, CONFIG);
            HalfFineTuning hft = new HalfFineTuning(CONFIG);
            long[] first = {-1};
            new Trainer(m, config().checkpoints(ckpt, 3).build()).addCallback(hft).onStep(s -> {
                if (first[0] < 0) {
                    first[0] = s;
                }
            }).fit(stages(data), null);
            assertEquals(7, first[0]);
            Map<String, float[]> resumed = Weights.snapshot(m);
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), k);
            }
            assertEquals(straightTrainable, trainable(m));
            assertEquals(2, hft.current().stage());
        }
    }

    @Test
    void resumingWithAnotherSeedIsRefused() {
        Batches data = TinyBert.task(16, 4);
        Path ckpt = dir.resolve("ckpt2");
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            assertThrows(IllegalStateException.class, () -> new Trainer(m, config().checkpoints(ckpt, 1).build())
                    .addCallback(new HalfFineTuning(CONFIG)).onStep(s -> {
                        if (s == 3) {
                            throw new IllegalStateException("simulated crash");
                        }
                    }).fit(stages(data), null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> new Trainer(m, config().checkpoints(ckpt, 1).build())
                    .addCallback(new HalfFineTuning(HftConfig.builder().seed(6).build())).fit(stages(data), null));
            String msg = String.valueOf(e.getMessage()) + " " + (e.getCause() == null ? "" : e.getCause().getMessage());
            assertTrue(msg.contains("seed 5") && msg.contains("seed 6"), msg);
            assertFalse(msg.isBlank());
        }
    }
}

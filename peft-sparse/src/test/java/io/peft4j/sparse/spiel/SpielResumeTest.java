package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A SpIEL run that crashes and resumes from its checkpoint ends bit for bit where the straight run
 * ends: values, positions (kept by the schedule's checkpoint state) and AdamW moments.
 */
class SpielResumeTest {
    private static final int STEPS = 8;

    private static TrainingConfig.Builder training() {
        return TrainingConfig.builder().epochs(1).batchSize(4).learningRate(1e-2f).seed(7).progressBar(false);
    }

    private static Map<String, long[]> positions(PeftModel m) {
        Map<String, long[]> out = new HashMap<>();
        SpielModel.of(m).layers().forEach((p, l) -> out.put(p, l.indicesOf("default").toLongArray()));
        return out;
    }

    @Test
    void resumedRunEqualsTheStraightRun(@TempDir Path dir) {
        Batches data = TinyBert.task(32, 9);
        SpielConfig config = SpielTrainingTest.config().build();   // reselection every 2 steps
        Map<String, float[]> straight;
        Map<String, long[]> straightPositions;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            SpielModel.wrap(m, config);
            new Trainer(m, training().build()).addCallback(SpielSchedule.of(m, STEPS)).fit(data, null);
            straight = Weights.snapshot(m);
            straightPositions = positions(m);
        }
        Path ckpt = dir.resolve("ckpt");
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            SpielModel.wrap(m, config);
            Trainer t = new Trainer(m, training().checkpoints(ckpt, 3).build()).addCallback(SpielSchedule.of(m, STEPS))
                    .onStep(s -> {
                        if (s == 5) {
                            throw new IllegalStateException("simulated crash");
                        }
                    });
            assertThrows(IllegalStateException.class, () -> t.fit(data, null));
        }
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            SpielModel.wrap(m, config);
            new Trainer(m, training().checkpoints(ckpt, 3).build()).addCallback(SpielSchedule.of(m, STEPS)).fit(data, null);
            Map<String, float[]> resumed = Weights.snapshot(m);
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), k);
            }
            Map<String, long[]> p = positions(m);
            for (String k : straightPositions.keySet()) {
                assertArrayEquals(straightPositions.get(k), p.get(k), "positions of " + k);
            }
        }
    }
}

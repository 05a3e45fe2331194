package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.StepGradients;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Gradient checkpointing against the plain step on a tiny BERT trained in full (embeddings included,
 * so the gradient also flows out of the recomputed stack into the embeddings), with dropout on so that
 * equal gradients need equal masks in the recomputation.
 */
class GradientCheckpointingTest {
    @TempDir
    Path dir;

    private static TrainingConfig.Builder base() {
        return TrainingConfig.builder().epochs(1).batchSize(4).gradientAccumulationSteps(2).learningRate(3e-3f)
                .seed(11).progressBar(false);
    }

    private static StepGradients step(boolean checkpointing, long seed) {
        try (PeftModel m = TinyBert.classifier(3, 0.1f)) {
            m.setAllTrainable(true);
            return StepGradients.firstStep(m, new SequenceClassification(), TinyBert.task(16, 2),
                    base().seed(seed).gradientCheckpointing(checkpointing).build());
        }
    }

    @Test
    void checkpointedStepHasThePlainStepsLossAndGradients() {
        StepGradients plain = step(false, 11);
        StepGradients checkpointed = step(true, 11);
        plain.assertSameAs(checkpointed);
        assertTrue(plain.gradients.containsKey("bert.embeddings.word_embeddings.weight"), plain.gradients.keySet().toString());

        // Another seed draws other dropout masks and so another gradient: the equality above is not that of a model without dropout.
        StepGradients otherMasks = step(false, 12);
        String q = "bert.encoder.layer.1.attention.self.query.weight";
        assertFalse(Arrays.equals(plain.gradients.get(q), otherMasks.gradients.get(q)), "dropout masks should depend on the seed");
    }

    @Test
    void checkpointedRunResumesAsItWouldHaveRunAndMatchesThePlainRun() {
        Batches data = TinyBert.task(16, 4); // 4 steps per epoch, 8 in all
        TrainingConfig.Builder two = base().epochs(2).gradientAccumulationSteps(1).batchSize(4);
        Map<String, float[]> plain;
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, two.build()).fit(data, null);
            plain = Weights.snapshot(m);
        }
        Map<String, float[]> straight;
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, two.gradientCheckpointing(true).build()).fit(data, null);
            straight = Weights.snapshot(m);
        }
        Path ckpt = dir.resolve("ckpt");
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            Trainer t = new Trainer(m, two.checkpoints(ckpt, 3).build()).onStep(s -> {
                if (s == 5) {
                    throw new IllegalStateException("simulated crash");
                }
            });
            assertThrows(IllegalStateException.class, () -> t.fit(data, null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            m.setAllTrainable(true);
            new Trainer(m, two.checkpoints(ckpt, 3).build()).fit(data, null);
            Map<String, float[]> resumed = Weights.snapshot(m);
            for (String k : straight.keySet()) {
                assertTrue(Arrays.equals(straight.get(k), resumed.get(k)), "resumed checkpointed run differs at " + k);
            }
        }
        for (String k : plain.keySet()) {
            float[] x = plain.get(k);
            float[] y = straight.get(k);
            for (int i = 0; i < x.length; i++) {
                // Eight AdamW steps on gradients equal up to float32 summation order (see StepGradients).
                assertEquals(x[i], y[i], 1e-5f, k + "[" + i + "]");
            }
        }
    }

    @Test
    void checkpointedStepsLeaveNoArrayBehind() {
        try (PeftModel m = TinyBert.classifier(5, 0.1f)) {
            m.setAllTrainable(true);
            int[] counts = new int[2];
            TrainingConfig cfg = base().epochs(6).gradientCheckpointing(true).build(); // 2 steps per epoch, 12 in all
            new Trainer(m, cfg).onStep(s -> {
                if (s == 3) {
                    counts[0] = Memory.managedArrays(m.manager());
                } else if (s == 12) {
                    counts[1] = Memory.managedArrays(m.manager());
                }
            }).fit(TinyBert.task(16, 3), null);
            assertTrue(counts[0] > 0);
            assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 3 vs step 12");
        }
    }
}

package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

/**
 * Full fine-tuning leaves no array behind per step: once the optimizer's moments exist (step 1),
 * the arrays alive in the model's manager and its sub-managers are the same after step 5 and after
 * step 24. Every per-step array (inputs, activations, gradient handles, optimizer temporaries) must
 * have been freed with its step's sub-manager; one forgotten array per step would add 19. The long
 * RSS soak of the real MiniLM ({@link MemoryStabilityTest}) runs with {@code -Psoak}.
 */
class ManagedArraysTest {
    private static final int STEPS = 24;

    @Test
    void arrayCountIsTheSameAfterStep5AndStep24() {
        try (PeftModel model = TinyBert.classifier(3, 0.1f)) {
            model.setAllTrainable(true);
            int[] counts = new int[2];
            long[] last = {0};
            int size = 32;
            int batch = 4; // 8 steps per epoch
            TrainingConfig cfg = TrainingConfig.builder().epochs(STEPS * batch / size).batchSize(batch)
                    .learningRate(1e-3f).progressBar(false).build();
            new Trainer(model, cfg).onStep(s -> {
                last[0] = s;
                if (s == 5) {
                    counts[0] = Memory.managedArrays(model.manager());
                } else if (s == STEPS) {
                    counts[1] = Memory.managedArrays(model.manager());
                }
            }).fit(TinyBert.task(size, 2), null);
            assertEquals(STEPS, last[0]);
            assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 5 vs step " + STEPS);
        }
    }
}

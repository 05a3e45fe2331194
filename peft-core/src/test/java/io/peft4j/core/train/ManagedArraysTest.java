package io.peft4j.core.train;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.StepLeakCheck;
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
    @Test
    void arrayCountIsTheSameAfterStep5AndStep24() {
        try (PeftModel model = TinyBert.classifier(3, 0.1f)) {
            model.setAllTrainable(true);
            StepLeakCheck.assertArrayCountFlat(model, 2);
        }
    }
}

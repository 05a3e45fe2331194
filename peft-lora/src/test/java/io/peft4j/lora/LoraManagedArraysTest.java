package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

/**
 * LoRA and QLoRA training with DoRA and dropout on (every per-step path of the layer runs) leaves no
 * array behind per step: the arrays alive in the model's manager and its sub-managers are the same
 * after step 5 and after step 24. The DoRA leak {@link LoraMemoryStabilityTest} was written for kept
 * arrays of every step; here it would show as a count growing by the same amount each step. The long
 * RSS soaks run with {@code -Psoak}.
 */
class LoraManagedArraysTest {
    private static final int STEPS = 24;

    private static LoraConfig config() {
        return LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1f).useDora(true)
                .targetModules("query", "value", "dense").excludeModules("pooler.dense")
                .modulesToSave("classifier").build();
    }

    @Test
    void loraStepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            LoraModel.wrap(m, config());
            assertFlat(m);
        }
    }

    /** QLoRA dequantizes every base weight in every forward (and DoRA's norm needs it again). */
    @Test
    void qloraStepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            QLora.wrap(m, config());
            assertFlat(m);
        }
    }

    private static void assertFlat(PeftModel m) {
        int[] counts = new int[2];
        long[] last = {0};
        int size = 32;
        int batch = 4; // 8 steps per epoch
        TrainingConfig cfg = TrainingConfig.builder().epochs(STEPS * batch / size).batchSize(batch)
                .learningRate(1e-3f).progressBar(false).build();
        new Trainer(m, cfg).onStep(s -> {
            last[0] = s;
            if (s == 5) {
                counts[0] = Memory.managedArrays(m.manager());
            } else if (s == STEPS) {
                counts[1] = Memory.managedArrays(m.manager());
            }
        }).fit(TinyBert.task(size, 5), null);
        assertEquals(STEPS, last[0]);
        assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 5 vs step " + STEPS);
    }
}

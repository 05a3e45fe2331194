package io.peft4j.lora;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.StepLeakCheck;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

/**
 * LoRA and QLoRA training with DoRA and dropout on (every per-step path of the layer runs) leaves no
 * array behind per step: the arrays alive in the model's manager and its sub-managers are the same
 * after step 5 and after step 24. The DoRA leak {@link LoraMemoryStabilityTest} was written for kept
 * arrays of every step; here it would show as a count growing by the same amount each step. The long
 * RSS soaks run with {@code -Psoak}.
 */
class LoraManagedArraysTest {
    private static LoraConfig config() {
        return LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1f).useDora(true)
                .targetModules("query", "value", "dense").excludeModules("pooler.dense")
                .modulesToSave("classifier").build();
    }

    @Test
    void loraStepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            LoraModel.wrap(m, config());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }

    /** QLoRA dequantizes every base weight in every forward (and DoRA's norm needs it again). */
    @Test
    void qloraStepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            QLora.wrap(m, config());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }
}

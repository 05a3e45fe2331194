package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.StepLeakCheck;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

/**
 * Prompt-method forwards leave no array behind per step: the arrays alive under the model's manager
 * are as many after a few steps as after many more (one kept array per step would show as growth).
 */
class PromptManagedArraysTest {
    @Test
    void pTuningWithAnLstmOnAnEncoderFreesEveryArrayItMakes() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            Peft.wrap(m, PTuningConfig.builder().numVirtualTokens(3).encoderHiddenSize(8)
                    .encoderReparameterizationType(EncoderReparameterizationType.LSTM).encoderDropout(0.1f).taskType("SEQ_CLS").build());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }

    @Test
    void promptAndPrefixForwardsOnADecoderFreeEveryArrayTheyMake() {
        for (PromptLearningConfig config : new PromptLearningConfig[] {
            PromptTuningConfig.builder().numVirtualTokens(3).build(),
            PrefixTuningConfig.builder().numVirtualTokens(3).prefixProjection(true).encoderHiddenSize(8).build()}) {
            try (PeftModel model = TinyDecoders.llama(7)) {
                Peft.wrap(model, config);
                long[][] ids = {{1, 2, 3, 4}, {5, 6, 7, 8}};
                int after3 = 0;
                for (int step = 1; step <= 12; step++) {
                    try (NDManager sm = model.manager().newSubManager()) {
                        TinyDecoders.lossAndBackward(model, sm, ids);
                    }
                    if (step == 3) {
                        after3 = Memory.managedArrays(model.manager());
                    }
                }
                assertEquals(after3, Memory.managedArrays(model.manager()), config.peftType());
            }
        }
    }
}

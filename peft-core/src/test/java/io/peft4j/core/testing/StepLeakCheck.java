package io.peft4j.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.peft4j.core.PeftModel;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

/**
 * The leak check every strategy's training shares: 24 optimizer steps on {@link TinyBert#task} data,
 * and the arrays alive in the model's manager (and its sub-managers) must be as many after step 24 as
 * after step 5. By step 5 the optimizer's moments and every lazily made array exist; one array
 * forgotten per step would add 19.
 */
public final class StepLeakCheck {
    public static final int STEPS = 24;
    private static final int EXAMPLES = 32;
    private static final int BATCH = 4; // 8 steps per epoch

    private StepLeakCheck() {}

    /** Trains {@code model} (its trainable set as it is) on data drawn with {@code dataSeed} and asserts the count is flat. */
    public static void assertArrayCountFlat(PeftModel model, long dataSeed) {
        int[] counts = new int[2];
        long[] last = {0};
        TrainingConfig cfg = TrainingConfig.builder().epochs(STEPS * BATCH / EXAMPLES).batchSize(BATCH)
                .learningRate(1e-3f).progressBar(false).build();
        new Trainer(model, cfg).onStep(s -> {
            last[0] = s;
            if (s == 5) {
                counts[0] = Memory.managedArrays(model.manager());
            } else if (s == STEPS) {
                counts[1] = Memory.managedArrays(model.manager());
            }
        }).fit(TinyBert.task(EXAMPLES, dataSeed), null);
        assertEquals(STEPS, last[0]);
        assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 5 vs step " + STEPS);
    }
}

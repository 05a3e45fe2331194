package io.peft4j.core.task;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;

/**
 * Evaluation without a trainer: a task's metrics of a model on data, in inference mode (no dropout),
 * each batch's arrays freed after it. The trainer evaluates through the same {@link Task#evaluate}.
 */
public final class Evaluator {
    /** transformers' {@code per_device_eval_batch_size} default. */
    public static final int DEFAULT_BATCH_SIZE = 8;

    private Evaluator() {}

    public static Metrics evaluate(PeftModel model, Task task, Batches data) {
        return evaluate(model, task, data, DEFAULT_BATCH_SIZE);
    }

    public static Metrics evaluate(PeftModel model, Task task, Batches data, int batchSize) {
        return task.evaluate(model, data, batchSize);
    }
}

package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

/**
 * What is specific to a kind of training: the loss of a batch and the metrics of an evaluation. The
 * trainer knows nothing else about the task, so one loop trains classifiers, language models and
 * embedding models alike.
 */
public interface Task {
    /**
     * The mean loss over the batch, a float32 scalar; with {@code training} it runs the model in training
     * mode (dropout) and must stay differentiable.
     */
    NDArray loss(PeftModel model, Batch batch, boolean training);

    /** The task's metrics over {@code data}, in inference mode, {@code batchSize} examples at a time. */
    Metrics evaluate(PeftModel model, Batches data, int batchSize);
}

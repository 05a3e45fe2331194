package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

/**
 * Labeled examples a trainer can batch: model inputs and integer class labels for any subset of
 * example indices, created in the manager the trainer gives (and closes after the step).
 */
public interface Batches {
    int size();

    /** Model inputs for the examples at {@code indices}. */
    NDList inputs(NDManager manager, int[] indices);

    /** Class labels {@code [B]} (int64) for the examples at {@code indices}. */
    NDArray labels(NDManager manager, int[] indices);
}

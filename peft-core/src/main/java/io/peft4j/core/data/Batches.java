package io.peft4j.core.data;

import ai.djl.ndarray.NDManager;

/**
 * Examples a trainer or an evaluator can batch: the named arrays of any subset of example indices,
 * created in the manager the caller gives (and closes after the step).
 */
public interface Batches {
    int size();

    /** The batch of the examples at {@code indices}, in that order. */
    Batch batch(NDManager manager, int[] indices);
}

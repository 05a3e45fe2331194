package io.peft4j.cli;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

/**
 * {@code --max-steps}: the training set cycled (or cut) to exactly {@code steps × batchSize} examples, so that
 * one epoch over this view is {@code steps} optimizer steps, as transformers' {@code max_steps} overrides the
 * epochs. The Trainer's learning-rate schedule then spans those steps.
 */
final class MaxStepsData implements Batches {
    private final Batches data;
    private final int size;

    MaxStepsData(Batches data, int steps, int batchSize) {
        long n = (long) steps * batchSize;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--max-steps " + steps + " × --batch-size " + batchSize + " examples is too many");
        }
        this.data = data;
        this.size = (int) n;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Batch batch(NDManager manager, int[] indices) {
        int[] wrapped = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            wrapped[i] = indices[i] % data.size();
        }
        return data.batch(manager, wrapped);
    }
}

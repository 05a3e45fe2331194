package io.peft4j.core.task;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

import java.util.function.Consumer;

/** Walks data in order, one batch at a time, each in a sub-manager closed after it: how every task evaluates. */
final class EvalLoop {
    private EvalLoop() {}

    static void forEachBatch(PeftModel model, Batches data, int batchSize, Consumer<Batch> body) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        int n = data.size();
        for (int from = 0; from < n; from += batchSize) {
            int[] idx = range(from, Math.min(n, from + batchSize));
            try (NDManager sm = model.manager().newSubManager()) {
                body.accept(data.batch(sm, idx));
            }
        }
    }

    /** The indices {@code from, ..., to - 1}. */
    static int[] range(int from, int to) {
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return idx;
    }
}

package io.peft4j.benchmarks.decoder;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Full-length sequences of random token ids, every position labelled (the loss covers all tokens, so
 * each step does the work of a packed causal-LM batch of that length); no padding.
 */
final class RandomTokens implements Batches {
    private final long[][] ids;

    RandomTokens(int examples, int length, int vocabSize, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ids = new long[examples][length];
        for (long[] row : ids) {
            for (int t = 0; t < length; t++) {
                row[t] = random.nextInt(vocabSize);
            }
        }
    }

    /** One prompt of {@code length} random ids in {@code [from, vocabSize)}. */
    static long[] prompt(int length, int from, int vocabSize, long seed) {
        return new SplittableRandom(seed).longs(length, from, vocabSize).toArray();
    }

    @Override
    public int size() {
        return ids.length;
    }

    @Override
    public Batch batch(NDManager manager, int[] indices) {
        int t = ids[0].length;
        long[] flat = new long[indices.length * t];
        for (int r = 0; r < indices.length; r++) {
            System.arraycopy(ids[indices[r]], 0, flat, r * t, t);
        }
        long[] mask = new long[flat.length];
        Arrays.fill(mask, 1L);
        Shape s = new Shape(indices.length, t);
        return Batch.builder(indices.length)
                .put(Batch.INPUT_IDS, manager.create(flat, s))
                .put(Batch.ATTENTION_MASK, manager.create(mask, s))
                .put(Batch.LABELS, manager.create(flat.clone(), s))
                .build();
    }
}

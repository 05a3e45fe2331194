package io.peft4j.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/**
 * The host-side state of a batch being generated: prompts LEFT-padded to the longest (so every
 * sequence's next token is at the same, last, position), the attention mask that padding implies
 * (0 on padding, 1 on every prompt and generated token), and transformers' position ids for it
 * ({@code cumsum(mask) - 1}, padding at 1), so a padded prompt sees the same positions as alone.
 */
final class LeftPaddedBatch {
    private final long[][] ids;
    private final long[][] mask;
    private final long[][] positions;
    private final int[] promptStart;
    private int length;

    LeftPaddedBatch(long[][] prompts, int maxNewTokens, long paddingId) {
        int b = prompts.length;
        int longest = 0;
        for (int i = 0; i < b; i++) {
            if (prompts[i] == null || prompts[i].length == 0) {
                throw new IllegalArgumentException("prompt " + i + " is empty; a prompt needs at least one token (e.g. BOS)");
            }
            for (long id : prompts[i]) {
                if (id < 0) {
                    throw new IllegalArgumentException("prompt " + i + " holds the negative token id " + id);
                }
            }
            longest = Math.max(longest, prompts[i].length);
        }
        int capacity = longest + maxNewTokens;
        ids = new long[b][capacity];
        mask = new long[b][capacity];
        positions = new long[b][capacity];
        promptStart = new int[b];
        for (int i = 0; i < b; i++) {
            int start = longest - prompts[i].length;
            promptStart[i] = start;
            Arrays.fill(ids[i], 0, start, paddingId);
            System.arraycopy(prompts[i], 0, ids[i], start, prompts[i].length);
            for (int t = 0; t < capacity; t++) {
                mask[i][t] = t < start ? 0 : 1;
                positions[i][t] = t < start ? 1 : t - start;
            }
        }
        length = longest;
    }

    int size() {
        return ids.length;
    }

    /** Positions held so far: padded prompt plus generated tokens. */
    int length() {
        return length;
    }

    void append(long[] next) {
        for (int i = 0; i < ids.length; i++) {
            ids[i][length] = next[i];
        }
        length++;
    }

    /** Sequence {@code i}'s tokens so far without its padding: what the repetition penalty looks at. */
    long[] tokens(int i) {
        return Arrays.copyOfRange(ids[i], promptStart[i], length);
    }

    /** Columns {@code [from, length)} of the ids, int64 {@code [B, length - from]}. */
    NDArray ids(NDManager manager, int from) {
        return columns(manager, ids, from, length);
    }

    NDArray positions(NDManager manager, int from) {
        return columns(manager, positions, from, length);
    }

    /** The mask over every position so far, {@code [B, length]}. */
    NDArray mask(NDManager manager) {
        return columns(manager, mask, 0, length);
    }

    private static NDArray columns(NDManager manager, long[][] rows, int from, int to) {
        int w = to - from;
        long[] flat = new long[rows.length * w];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], from, flat, i * w, w);
        }
        return manager.create(flat, new Shape(rows.length, w));
    }
}

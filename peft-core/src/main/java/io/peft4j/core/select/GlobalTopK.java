package io.peft4j.core.select;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import java.util.Arrays;

/**
 * The {@code k} highest scores across many tensors, found one tensor at a time so that memory stays
 * bounded by one tensor's scores plus {@code k} candidates, never the concatenation of all scores.
 *
 * <p>Pass 1 keeps a running top-{@code k} of values on the device (each tensor's own top-{@code k}
 * merged into it), which yields the threshold {@code t}, the {@code k}-th largest score. Pass 2 takes,
 * per tensor, every element scoring above {@code t} and counts those equal to it. Pass 3 fills the
 * remaining places with elements equal to {@code t} in candidate order, then flat-index order: that
 * is the tie rule, and it makes the choice exact and independent of how the engine's top-k orders
 * equal values. Only the chosen indices come back to the host.
 */
final class GlobalTopK {
    private final ElementScores scores;
    private final long[] sizes;

    GlobalTopK(ElementScores scores, long[] sizes) {
        this.scores = scores;
        this.sizes = sizes.clone();
    }

    /** Sorted flat indices per tensor (an empty array where nothing is chosen); {@code k <= total}. */
    long[][] select(long k, NDManager parent) {
        long[][] chosen = new long[sizes.length][];
        Arrays.fill(chosen, new long[0]);
        if (k == 0) {
            return chosen;
        }
        try (NDManager scratch = parent.newSubManager()) {
            NDArray threshold = threshold(k, scratch);
            long[] equalCounts = new long[sizes.length];
            long taken = 0;
            for (int i = 0; i < sizes.length; i++) {
                try (NDManager step = scratch.newSubManager()) {
                    NDArray s = scores.of(i, step);
                    chosen[i] = s.gt(threshold).nonzero().toLongArray();
                    equalCounts[i] = s.eq(threshold).countNonzero().getLong();
                    taken += chosen[i].length;
                }
            }
            long ties = k - taken;
            for (int i = 0; i < sizes.length && ties > 0; i++) {
                if (equalCounts[i] == 0) {
                    continue;
                }
                long take = Math.min(ties, equalCounts[i]);
                try (NDManager step = scratch.newSubManager()) {
                    NDArray s = scores.of(i, step);
                    long[] equal = s.eq(threshold).nonzero().get(new NDIndex("0:{}", take)).toLongArray();
                    chosen[i] = merge(chosen[i], equal);
                }
                ties -= take;
            }
        }
        return chosen;
    }

    /** The k-th largest score, as a scalar in {@code scratch}. */
    private NDArray threshold(long k, NDManager scratch) {
        NDArray best = null;
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == 0) {
                continue;
            }
            try (NDManager step = scratch.newSubManager()) {
                NDArray s = scores.of(i, step);
                NDArray top = s.topK((int) Math.min(k, sizes[i]), 0, true, true).get(0);
                // top is step-owned, so the merged array lands in step and is freed with it.
                NDArray merged = best == null ? top : top.concat(best);
                NDArray kept = merged.topK((int) Math.min(k, merged.size()), 0, true, true).get(0);
                kept.attach(scratch);
                if (best != null) {
                    best.close();
                }
                best = kept;
            }
        }
        NDArray t = best.get(new NDIndex("{}", best.size() - 1));
        t.attach(scratch);
        return t;
    }

    private static long[] merge(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        Arrays.sort(out);
        return out;
    }
}

package io.peft4j.sparse.spiel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One drop-and-regrow decision of one layer (the pure part of SpIEL's update, kept apart so it can be
 * checked by hand): drop the {@code n} active slots with the smallest |value| (ties: the lower slot),
 * and move them to the {@code n} candidate positions with the highest score that are not active (ties:
 * the lower position). The number of active values never changes, so the density stays exact.
 */
final class Reselection {
    /** Slots to move, ascending, and the new position of each. */
    final int[] slots;
    final long[] positions;

    private Reselection(int[] slots, long[] positions) {
        this.slots = slots;
        this.positions = positions;
    }

    /** How many values change at a given rate: {@code floor(rate * k)}. */
    static int changes(int k, double rate) {
        return (int) Math.floor(Math.max(0, rate) * k + 1e-9);
    }

    /** The rate after optimizer step {@code done} of {@code total}: linear decay from {@code initial} to 0. */
    static double rate(double initial, long done, long total) {
        return total <= 0 ? 0 : initial * Math.max(0, 1 - (double) done / total);
    }

    static Reselection choose(float[] values, long[] active, long[] candidates, float[] scores, int n) {
        Set<Long> activeSet = new HashSet<>();
        for (long p : active) {
            activeSet.add(p);
        }
        List<Integer> grow = new ArrayList<>();
        for (int i = 0; i < candidates.length; i++) {
            if (!activeSet.contains(candidates[i])) {
                grow.add(i);
            }
        }
        grow.sort((a, b) -> scores[a] != scores[b] ? Float.compare(scores[b], scores[a])
                : Long.compare(candidates[a], candidates[b]));
        int m = Math.min(n, grow.size());
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(Math.abs(values[a]), Math.abs(values[b]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] slots = new int[m];
        for (int i = 0; i < m; i++) {
            slots[i] = order[i];
        }
        Arrays.sort(slots);
        List<Long> chosen = new ArrayList<>();
        for (int i = 0; i < m; i++) {
            chosen.add(candidates[grow.get(i)]);
        }
        chosen.sort(Long::compare);
        long[] positions = new long[m];
        for (int i = 0; i < m; i++) {
            positions[i] = chosen.get(i);
        }
        return new Reselection(slots, positions);
    }
}

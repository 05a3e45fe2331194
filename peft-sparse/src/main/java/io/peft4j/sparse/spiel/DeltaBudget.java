package io.peft4j.sparse.spiel;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * How many values each targeted weight trains, and where they start. The total (a count, or the
 * density times the targeted elements, rounded) is spread over the tensors in proportion to their
 * size, as the reference implementation does; the remainder of the flooring goes to the largest
 * fractional parts (ties: the earlier tensor), so the counts sum to the total exactly.
 */
final class DeltaBudget {
    private DeltaBudget() {}

    /** Counts per tensor (same keys and order as {@code sizes}) summing to the total. */
    static Map<String, Long> allocate(Map<String, Long> sizes, float density, Long count) {
        long all = 0;
        for (long n : sizes.values()) {
            all += n;
        }
        long total = count != null ? count : Math.round((double) density * all);
        if (total > all) {
            throw new IllegalArgumentException("SpIEL num_tunable_weights is " + total + " but the targeted weights have only "
                    + all + " elements");
        }
        Map<String, Long> out = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(sizes.keySet());
        double[] fraction = new double[names.size()];
        long given = 0;
        for (int i = 0; i < names.size(); i++) {
            double exact = (double) total * sizes.get(names.get(i)) / all;
            long k = (long) Math.floor(exact);
            out.put(names.get(i), k);
            fraction[i] = exact - k;
            given += k;
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble((Integer i) -> -fraction[i]).thenComparingInt(i -> i));
        for (int r = 0; given < total; r++) {
            String n = names.get(order.get(r % order.size()));
            if (out.get(n) < sizes.get(n)) {
                out.put(n, out.get(n) + 1);
                given++;
            }
        }
        return out;
    }

    /** {@code k} distinct positions in {@code [0, n)} drawn uniformly (Floyd's algorithm), in draw order. */
    static long[] randomPositions(long n, int k, Random random) {
        Set<Long> chosen = new HashSet<>();
        long[] out = new long[k];
        int at = 0;
        for (long j = n - k; j < n; j++) {
            long t = (long) (random.nextDouble() * (j + 1));
            long pick = chosen.contains(t) ? j : t;
            chosen.add(pick);
            out[at++] = pick;
        }
        return out;
    }
}

package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** The pure parts of SpIEL's update against cases worked out by hand. */
class ReselectionTest {
    @Test
    void dropsSmallestMagnitudesAndGrowsBestInactiveCandidates() {
        // Active positions 0, 5, 9, 12 with values 0.5, -0.1, 0.3, 0.05: the two smallest |value| are
        // slot 3 (0.05) and slot 1 (|-0.1|). Candidates 1, 5, 7, 20 score 0.2, 9, 0.7, 0.7; 5 is active
        // and cannot grow, so the best two are 7 and 20 (tied at 0.7; the lower position first).
        Reselection r = Reselection.choose(new float[] {0.5f, -0.1f, 0.3f, 0.05f}, new long[] {0, 5, 9, 12},
                new long[] {1, 5, 7, 20}, new float[] {0.2f, 9f, 0.7f, 0.7f}, 2);
        assertArrayEquals(new int[] {1, 3}, r.slots);
        assertArrayEquals(new long[] {7, 20}, r.positions);
    }

    @Test
    void movesNoMoreThanThereAreCandidates() {
        Reselection r = Reselection.choose(new float[] {1f, 2f, 3f}, new long[] {0, 1, 2}, new long[] {1, 4},
                new float[] {5f, 1f}, 3);
        assertArrayEquals(new int[] {0}, r.slots, "one inactive candidate: only the smallest value moves");
        assertArrayEquals(new long[] {4}, r.positions);
    }

    @Test
    void rateDecaysLinearlyToZero() {
        assertEquals(0.2, Reselection.rate(0.2, 0, 100), 1e-12);
        assertEquals(0.1, Reselection.rate(0.2, 50, 100), 1e-12);
        assertEquals(0.0, Reselection.rate(0.2, 100, 100), 1e-12);
        assertEquals(1, Reselection.changes(10, 0.1));
        assertEquals(0, Reselection.changes(10, 0.09));
        assertEquals(2, Reselection.changes(10, 0.2));
    }

    @Test
    void budgetIsProportionalToSizeAndExact() {
        Map<String, Long> sizes = new LinkedHashMap<>();
        sizes.put("a", 100L);
        sizes.put("b", 300L);
        sizes.put("c", 600L);
        // density 0.01 of 1000 = 10: exactly 1, 3, 6.
        assertEquals(Map.of("a", 1L, "b", 3L, "c", 6L), DeltaBudget.allocate(sizes, 0.01f, null));
        // 7 weights: shares 0.7, 2.1, 4.2 floor to 0, 2, 4; the one left goes to the largest fraction (a).
        assertEquals(Map.of("a", 1L, "b", 2L, "c", 4L), DeltaBudget.allocate(sizes, 0.5f, 7L));
        assertThrows(IllegalArgumentException.class, () -> DeltaBudget.allocate(sizes, 0.5f, 1001L));
    }

    @Test
    void randomPositionsAreDistinctAndInRange() {
        long[] p = DeltaBudget.randomPositions(10, 10, new Random(3));
        long[] sorted = p.clone();
        java.util.Arrays.sort(sorted);
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted, "k = n draws every position once");
    }
}

package io.peft4j.core.select;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.nn.NamedParameter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Chooses the highest-scoring tensors, or elements across tensors, among candidate parameters: the
 * top {@code k} or a fraction, by magnitude, gradient magnitude or seeded random scores. Immutable;
 * build with {@link #by(Criterion)}. Equal inputs and seed give equal choices.
 */
public final class Ranking {
    private final Criterion criterion;
    private final long seed;
    private final long topK;
    private final double fraction;

    private Ranking(Criterion criterion, long seed, long topK, double fraction) {
        this.criterion = criterion;
        this.seed = seed;
        this.topK = topK;
        this.fraction = fraction;
    }

    public static Ranking by(Criterion criterion) {
        return new Ranking(criterion, 0L, -1, 1.0);
    }

    public Ranking seed(long newSeed) {
        return new Ranking(criterion, newSeed, topK, fraction);
    }

    /** Keep the {@code k} best. */
    public Ranking topK(long k) {
        if (k < 0) {
            throw new IllegalArgumentException("topK must be >= 0, got " + k);
        }
        return new Ranking(criterion, seed, k, fraction);
    }

    /** Keep the best {@code ceil(f * count)}. */
    public Ranking fraction(double f) {
        if (!(f >= 0 && f <= 1)) {
            throw new IllegalArgumentException("fraction must be in [0, 1], got " + f);
        }
        return new Ranking(criterion, seed, -1, f);
    }

    public Criterion criterion() {
        return criterion;
    }

    private long keep(long count) {
        return topK >= 0 ? Math.min(topK, count) : (long) Math.ceil(fraction * count);
    }

    /**
     * Whole tensors, scored by the mean of their element scores; returned in tree order. Ties: the
     * earlier tensor in candidate order wins.
     */
    public List<NamedParameter> selectTensors(List<NamedParameter> candidates) {
        double[] scores = new double[candidates.size()];
        if (candidates.isEmpty()) {
            return List.of();
        }
        SplittableRandom random = new SplittableRandom(seed);
        ElementScores elements = new ElementScores(criterion, candidates, seed);
        try (NDManager scratch = managerOf(candidates).newSubManager()) {
            for (int i = 0; i < scores.length; i++) {
                if (criterion == Criterion.RANDOM) {
                    scores[i] = random.nextDouble();
                } else {
                    try (NDManager step = scratch.newSubManager()) {
                        scores[i] = elements.of(i, step).mean().getFloat();
                    }
                }
            }
        }
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
        long k = keep(scores.length);
        boolean[] chosen = new boolean[scores.length];
        for (int i = 0; i < k; i++) {
            chosen[order[i]] = true;
        }
        List<NamedParameter> out = new ArrayList<>();
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i]) {
                out.add(candidates.get(i));
            }
        }
        return out;
    }

    /**
     * Single elements, ranked globally across all candidates (as SpIEL and LT-SFT choose). Ties: among
     * equal scores the element of the earlier tensor in candidate order, then the lower flat index,
     * is chosen. Scores are ranked one tensor at a time on the device (see {@link GlobalTopK}); NaN
     * scores are refused.
     */
    public ElementSelection selectElements(List<NamedParameter> candidates) {
        Map<String, long[]> indices = new LinkedHashMap<>();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        long[] sizes = new long[candidates.size()];
        long total = 0;
        for (int i = 0; i < candidates.size(); i++) {
            sizes[i] = candidates.get(i).size();
            total += sizes[i];
            shapes.put(candidates.get(i).name(), candidates.get(i).parameter().getShape());
        }
        long k = keep(total);
        if (k > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Cannot select " + k + " elements in one ranking (at most "
                    + (Integer.MAX_VALUE - 8) + "): lower topK or fraction");
        }
        if (k == 0) {
            return new ElementSelection(indices, shapes);
        }
        GlobalTopK topK = new GlobalTopK(new ElementScores(criterion, candidates, seed), sizes);
        long[][] chosen = topK.select(k, managerOf(candidates));
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i].length > 0) {
                indices.put(candidates.get(i).name(), chosen[i]);
            }
        }
        return new ElementSelection(indices, shapes);
    }

    private static NDManager managerOf(List<NamedParameter> candidates) {
        return candidates.get(0).parameter().getArray().getManager();
    }
}

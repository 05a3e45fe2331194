package io.peft4j.core.select;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

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

    /** Whole tensors, scored by the mean of their element scores; returned in tree order. */
    public List<NamedParameter> selectTensors(List<NamedParameter> candidates) {
        double[] scores = new double[candidates.size()];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < scores.length; i++) {
            NamedParameter p = candidates.get(i);
            if (criterion == Criterion.RANDOM) {
                scores[i] = random.nextDouble();
            } else {
                try (NDArray s = elementScores(p)) {
                    scores[i] = s.mean().getFloat();
                }
            }
        }
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Stable on ties: the earlier tensor in tree order wins.
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

    /** Single elements, ranked globally across all candidates (as SpIEL and LT-SFT choose). */
    public ElementSelection selectElements(List<NamedParameter> candidates) {
        Map<String, long[]> indices = new LinkedHashMap<>();
        Map<String, ai.djl.ndarray.types.Shape> shapes = new LinkedHashMap<>();
        if (candidates.isEmpty()) {
            return new ElementSelection(indices, shapes);
        }
        long[] offsets = new long[candidates.size() + 1];
        for (int i = 0; i < candidates.size(); i++) {
            offsets[i + 1] = offsets[i] + candidates.get(i).size();
            shapes.put(candidates.get(i).name(), candidates.get(i).parameter().getShape());
        }
        long total = offsets[candidates.size()];
        long k = keep(total);
        if (k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Cannot select " + k + " elements in one ranking");
        }
        long[] chosen;
        try (NDManager scratch = candidates.get(0).parameter().getArray().getManager().newSubManager()) {
            NDList parts = new NDList();
            SplittableRandom random = new SplittableRandom(seed);
            for (NamedParameter p : candidates) {
                NDArray s;
                if (criterion == Criterion.RANDOM) {
                    float[] r = new float[Math.toIntExact(p.size())];
                    for (int j = 0; j < r.length; j++) {
                        r[j] = (float) random.nextDouble();
                    }
                    s = scratch.create(r);
                } else {
                    s = elementScores(p).flatten();
                    s.attach(scratch);
                }
                parts.add(s);
            }
            NDArray all = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts);
            chosen = k == 0 ? new long[0] : all.topK((int) k, 0, true, false).get(1).toLongArray();
        }
        Arrays.sort(chosen);
        int start = 0;
        for (int i = 0; i < candidates.size(); i++) {
            int end = start;
            while (end < chosen.length && chosen[end] < offsets[i + 1]) {
                end++;
            }
            if (end > start) {
                long[] local = new long[end - start];
                for (int j = start; j < end; j++) {
                    local[j - start] = chosen[j] - offsets[i];
                }
                indices.put(candidates.get(i).name(), local);
            }
            start = end;
        }
        return new ElementSelection(indices, shapes);
    }

    private NDArray elementScores(NamedParameter p) {
        NDArray w = p.parameter().getArray();
        if (criterion == Criterion.MAGNITUDE) {
            return w.abs();
        }
        if (!w.hasGradient()) {
            throw new IllegalStateException("Gradient ranking needs a gradient on '" + p.name()
                    + "': make it trainable and run a backward pass first");
        }
        try (NDArray g = w.getGradient()) {
            return g.abs();
        }
    }
}

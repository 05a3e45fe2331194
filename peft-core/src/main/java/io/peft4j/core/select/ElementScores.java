package io.peft4j.core.select;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.nn.NamedParameter;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The flat score array of each candidate tensor under one criterion, created in a caller's manager
 * so that it never lands in the model's manager. DJL puts an operation's result in the manager of
 * its first operand, here the parameter's: the first result is attached to the caller's manager at
 * once, and every later operation starts from it.
 */
final class ElementScores {
    private final Criterion criterion;
    private final List<NamedParameter> candidates;
    /** One seed per candidate, so that a tensor's random scores can be made again in a later pass. */
    private final long[] seeds;

    ElementScores(Criterion criterion, List<NamedParameter> candidates, long seed) {
        this.criterion = criterion;
        this.candidates = candidates;
        this.seeds = new long[candidates.size()];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = random.nextLong();
        }
    }

    /** Scores of candidate {@code i}, flattened (row-major), owned by {@code manager}. */
    NDArray of(int i, NDManager manager) {
        NamedParameter p = candidates.get(i);
        if (criterion == Criterion.RANDOM) {
            long n = p.size();
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("Random ranking of '" + p.name() + "' (" + n
                        + " elements) needs host scores for every element; rank it by MAGNITUDE or GRADIENT");
            }
            float[] r = new float[(int) n];
            SplittableRandom random = new SplittableRandom(seeds[i]);
            for (int j = 0; j < r.length; j++) {
                r[j] = (float) random.nextDouble();
            }
            return manager.create(r);
        }
        NDArray w = p.parameter().getArray();
        NDArray source = w;
        if (criterion == Criterion.GRADIENT) {
            if (!w.hasGradient()) {
                throw new IllegalStateException("Gradient ranking needs a gradient on '" + p.name()
                        + "': make it trainable and run a backward pass first");
            }
            source = owned(w.getGradient(), manager);
        }
        NDArray abs = source == w ? owned(w.abs(), manager) : source.abs();
        NDArray flat = abs.flatten();
        if (flat.isNaN().any().getBoolean()) {
            throw new IllegalStateException("'" + p.name() + "' has NaN " + (criterion == Criterion.GRADIENT
                    ? "gradients" : "weights") + ": NaN scores cannot be ranked");
        }
        return flat;
    }

    private static NDArray owned(NDArray array, NDManager manager) {
        array.attach(manager);
        return array;
    }
}

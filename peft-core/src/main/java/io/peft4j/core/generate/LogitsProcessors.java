package io.peft4j.core.generate;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * transformers' logits processors and warpers on one row of next-token scores, in place, in double
 * precision on the host (generation samples from one {@code [vocab]} row per sequence and step, so
 * the host is where the token is picked anyway). Removed tokens get {@code -inf}, as transformers'
 * {@code filter_value}.
 */
public final class LogitsProcessors {
    private LogitsProcessors() {}

    /**
     * {@code RepetitionPenaltyLogitsProcessor}: for each distinct token in {@code seen}, a positive score
     * is divided by {@code penalty} and a negative one multiplied by it (so {@code penalty > 1} always
     * makes a repeat less likely). {@code penalty == 1} changes nothing.
     */
    public static void repetitionPenalty(double[] scores, long[] seen, double penalty) {
        if (penalty == 1) {
            return;
        }
        // Each token is penalised once however often it occurs: transformers gathers, then scatters.
        long[] distinct = Arrays.stream(seen).distinct().toArray();
        for (long id : distinct) {
            if (id < 0 || id >= scores.length) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + scores.length);
            }
            int i = (int) id;
            scores[i] = scores[i] < 0 ? scores[i] * penalty : scores[i] / penalty;
        }
    }

    /** {@code TemperatureLogitsWarper}: every score divided by {@code temperature}. */
    public static void temperature(double[] scores, double temperature) {
        if (temperature == 1) {
            return;
        }
        for (int i = 0; i < scores.length; i++) {
            scores[i] /= temperature;
        }
    }

    /**
     * {@code TopKLogitsWarper}: keeps every token whose score is at least the {@code k}-th largest (so
     * tokens tied with the k-th are all kept, as transformers' {@code scores < topk[-1]} does);
     * {@code k == 0} or {@code k >= vocab} keeps all.
     */
    public static void topK(double[] scores, int k) {
        if (k <= 0 || k >= scores.length) {
            return;
        }
        double[] sorted = scores.clone();
        Arrays.sort(sorted);
        double kth = sorted[sorted.length - k];
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] < kth) {
                scores[i] = Double.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * {@code TopPLogitsWarper}: sorts ascending, and removes the tokens whose cumulative probability
     * (ascending) is {@code <= 1 - topP}, always keeping the most likely token. What is kept is the
     * smallest set of most likely tokens whose probability reaches {@code topP}. Equal scores sort
     * by id (a stable sort, as torch's CPU sort), so of tied tokens at the boundary the higher ids stay.
     */
    public static void topP(double[] scores, double topP) {
        if (topP >= 1) {
            return;
        }
        Integer[] order = IntStream.range(0, scores.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> scores[i]));
        double[] probs = softmax(scores);
        double cumulative = 0;
        for (int r = 0; r < order.length - 1; r++) {
            cumulative += probs[order[r]];
            if (cumulative <= 1 - topP) {
                scores[order[r]] = Double.NEGATIVE_INFINITY;
            }
        }
    }

    /** The softmax of scores in double precision; {@code -inf} scores get probability 0. */
    public static double[] softmax(double[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (double s : scores) {
            max = Math.max(max, s);
        }
        double[] p = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            p[i] = Math.exp(scores[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}

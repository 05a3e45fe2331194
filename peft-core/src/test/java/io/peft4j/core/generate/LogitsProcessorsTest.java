package io.peft4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * The logits processors against values worked out by hand from transformers' definitions. Scores
 * that stay are compared exactly or to 1e-12 (double arithmetic on a few values); removed ones must be
 * {@code -inf}.
 */
class LogitsProcessorsTest {
    private static final double NEG_INF = Double.NEGATIVE_INFINITY;

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeScoresOncePerToken() {
        double[] s = {2, -1, 0.5, -3};
        LogitsProcessors.repetitionPenalty(s, new long[] {0, 1, 1, 1}, 2);
        assertArrayEquals(new double[] {1, -2, 0.5, -3}, s, 0);
        double[] reward = {2, -1};
        LogitsProcessors.repetitionPenalty(reward, new long[] {0, 1}, 0.5);
        assertArrayEquals(new double[] {4, -0.5}, reward, 0, "a penalty below 1 favours repeats");
        assertThrows(IllegalArgumentException.class, () -> LogitsProcessors.repetitionPenalty(new double[2], new long[] {2}, 2));
    }

    @Test
    void temperatureDividesEveryScore() {
        double[] s = {2, -1, 0};
        LogitsProcessors.temperature(s, 0.5);
        assertArrayEquals(new double[] {4, -2, 0}, s, 0);
    }

    @Test
    void topKKeepsTheKLargestAndEveryTokenTiedWithTheKth() {
        double[] s = {1, 3, 3, 2, 0};
        LogitsProcessors.topK(s, 2);
        assertArrayEquals(new double[] {NEG_INF, 3, 3, NEG_INF, NEG_INF}, s, 0);
        double[] ties = {1, 2, 2, 2};
        LogitsProcessors.topK(ties, 2);
        assertArrayEquals(new double[] {NEG_INF, 2, 2, 2}, ties, 0, "ties with the 2nd largest all stay");
        double[] off = {1, 2};
        LogitsProcessors.topK(off, 0);
        assertArrayEquals(new double[] {1, 2}, off, 0);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities 0.5, 0.3, 0.15, 0.05: ascending cumulative 0.05, 0.2, 0.5, 1.0
        double[] s = logs(0.5, 0.3, 0.15, 0.05);
        LogitsProcessors.topP(s, 0.75);
        // 1 - p = 0.25: 0.05 and 0.15 go (cumulative 0.05, 0.2 <= 0.25); 0.5 + 0.3 = 0.8 >= 0.75 stays
        assertArrayEquals(new double[] {Math.log(0.5), Math.log(0.3), NEG_INF, NEG_INF}, s, 1e-12);
    }

    @Test
    void topPAlwaysKeepsTheMostLikelyToken() {
        double[] s = logs(0.5, 0.3, 0.15, 0.05);
        LogitsProcessors.topP(s, 0.01);
        assertArrayEquals(new double[] {Math.log(0.5), NEG_INF, NEG_INF, NEG_INF}, s, 1e-12);
        double[] one = {7};
        LogitsProcessors.topP(one, 0.01);
        assertArrayEquals(new double[] {7}, one, 0);
    }

    @Test
    void topPWithTiesRemovesLowerIdsFirst() {
        // Four equal probabilities 0.25: ascending cumulative 0.25, 0.5, 0.75, 1 (exact in binary).
        double[] half = {1, 1, 1, 1};
        LogitsProcessors.topP(half, 0.5);
        assertArrayEquals(new double[] {NEG_INF, NEG_INF, 1, 1}, half, 0, "0.25 + 0.25 reaches 0.5");
        double[] more = {1, 1, 1, 1};
        LogitsProcessors.topP(more, 0.6);
        assertArrayEquals(new double[] {NEG_INF, 1, 1, 1}, more, 0, "two tokens (0.5) do not reach 0.6: three stay");
    }

    @Test
    void samplingPicksTheIntervalHoldingU() {
        double[] p = {0.2, 0, 0.5, 0.3};
        assertEquals(0, TokenChooser.sample(p, 0.1));
        assertEquals(2, TokenChooser.sample(p, 0.2), "a token of probability 0 is never drawn");
        assertEquals(2, TokenChooser.sample(p, 0.69));
        assertEquals(3, TokenChooser.sample(p, 0.7));
        assertEquals(3, TokenChooser.sample(p, 0.999999));
        assertEquals(1, TokenChooser.argMax(new double[] {0, 5, 5, 1}), "the first of tied maxima, as torch.argmax");
    }

    @Test
    void seededSamplingFollowsTheSoftmax() {
        // probabilities 1/7, 2/7, 4/7; n = 20000 draws: standard error at most 0.0035, tolerance 0.02 (> 5 sigma).
        GenerationConfig config = GenerationConfig.builder().doSample(true).topK(0).seed(3).build();
        TokenChooser chooser = new TokenChooser(config);
        float[] logits = {0f, (float) Math.log(2), (float) Math.log(4)};
        int[] counts = new int[3];
        int n = 20000;
        for (int i = 0; i < n; i++) {
            counts[(int) chooser.choose(logits, 0, 3, new long[0])]++;
        }
        assertEquals(1 / 7.0, counts[0] / (double) n, 0.02);
        assertEquals(2 / 7.0, counts[1] / (double) n, 0.02);
        assertEquals(4 / 7.0, counts[2] / (double) n, 0.02);
    }

    @Test
    void softmaxGivesRemovedTokensZero() {
        double[] p = LogitsProcessors.softmax(new double[] {0, NEG_INF, 0});
        assertArrayEquals(new double[] {0.5, 0, 0.5}, p, 1e-15);
    }

    private static double[] logs(double... probs) {
        double[] out = new double[probs.length];
        for (int i = 0; i < probs.length; i++) {
            out[i] = Math.log(probs[i]);
        }
        return out;
    }
}

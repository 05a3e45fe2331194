package io.peft4j.core.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token of one sequence from its last-position logits as transformers' {@code generate}
 * does: the repetition penalty always; then, when sampling, temperature, top-k and top-p in that
 * order and a draw from the softmax; otherwise the arg-max (the first of tied maxima, as
 * {@code torch.argmax}).
 */
final class TokenChooser {
    private final GenerationConfig config;
    private final SplittableRandom random;

    TokenChooser(GenerationConfig config) {
        this.config = config;
        this.random = config.seed() != null ? new SplittableRandom(config.seed()) : new SplittableRandom();
    }

    /** @param seen the tokens of the sequence so far (prompt without its padding, then the generated ones) */
    long choose(float[] logits, int offset, int vocab, long[] seen) {
        double[] scores = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            scores[i] = logits[offset + i];
        }
        LogitsProcessors.repetitionPenalty(scores, seen, config.repetitionPenalty());
        if (!config.doSample()) {
            return argMax(scores);
        }
        LogitsProcessors.temperature(scores, config.temperature());
        LogitsProcessors.topK(scores, config.topK());
        LogitsProcessors.topP(scores, config.topP());
        return sample(LogitsProcessors.softmax(scores), random.nextDouble());
    }

    static int argMax(double[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The token whose cumulative-probability interval (in id order) holds {@code u} in [0, 1). */
    static int sample(double[] probs, double u) {
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                cumulative += probs[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        // Rounding left the total a hair below u: the last token with any probability.
        return last;
    }
}

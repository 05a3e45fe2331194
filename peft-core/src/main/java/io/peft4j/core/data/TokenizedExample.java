package io.peft4j.core.data;

import java.util.Arrays;

/** One causal-LM example: its token ids and, per token, whether the loss trains on it. */
record TokenizedExample(long[] ids, boolean[] trained) {
    TokenizedExample {
        if (ids.length != trained.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + trained.length + " trained flags");
        }
    }

    int length() {
        return ids.length;
    }

    /** Whether some token after the first is trained (the first token is never predicted). */
    boolean learnsSomething() {
        for (int k = 1; k < trained.length; k++) {
            if (trained[k]) {
                return true;
            }
        }
        return false;
    }

    /** The example cut to {@code max} tokens: its start kept ({@link Side#RIGHT} cut) or its end ({@link Side#LEFT}). */
    TokenizedExample truncate(int max, Side side) {
        if (ids.length <= max) {
            return this;
        }
        int from = side == Side.LEFT ? ids.length - max : 0;
        return new TokenizedExample(Arrays.copyOfRange(ids, from, from + max), Arrays.copyOfRange(trained, from, from + max));
    }
}

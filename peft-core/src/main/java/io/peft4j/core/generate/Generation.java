package io.peft4j.core.generate;

import java.util.Arrays;
import java.util.List;

/**
 * What {@link Generator} produced for a batch of prompts: per sequence the new tokens (without the
 * prompt, without the padding finished sequences received; an {@code eos} token that stopped a
 * sequence is included, as transformers returns it) and why it stopped.
 */
public final class Generation {
    /** Why a sequence stopped. */
    public enum StopReason {
        EOS_TOKEN, STOP_STRING, MAX_NEW_TOKENS
    }

    private final long[][] tokens;
    private final List<StopReason> stopReasons;

    Generation(long[][] tokens, List<StopReason> stopReasons) {
        this.tokens = tokens;
        this.stopReasons = List.copyOf(stopReasons);
    }

    public int size() {
        return tokens.length;
    }

    /** The new tokens of sequence {@code i} (a copy). */
    public long[] tokens(int i) {
        return tokens[i].clone();
    }

    public StopReason stopReason(int i) {
        return stopReasons.get(i);
    }

    /**
     * Every sequence's new tokens right-padded with {@code padTokenId} to the longest: transformers'
     * {@code generate(...)[:, prompt_length:]}.
     */
    public long[][] padded(long padTokenId) {
        int longest = Arrays.stream(tokens).mapToInt(t -> t.length).max().orElse(0);
        long[][] out = new long[tokens.length][longest];
        for (int i = 0; i < tokens.length; i++) {
            Arrays.fill(out[i], padTokenId);
            System.arraycopy(tokens[i], 0, out[i], 0, tokens[i].length);
        }
        return out;
    }
}

package io.peft4j.core.generate;

/**
 * Receives each new token as soon as it is chosen (streaming): {@code sequence} is the prompt's index
 * in the batch. Called in step order, and within a step in sequence order, only for sequences still
 * running (never for the padding of finished ones), after the step's arrays are freed.
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(int sequence, long tokenId);
}

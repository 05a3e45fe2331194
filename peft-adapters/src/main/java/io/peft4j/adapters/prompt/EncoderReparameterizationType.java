package io.peft4j.adapters.prompt;

/** P-tuning's prompt encoder, as HF PEFT's {@code PromptEncoderReparameterizationType}. */
public enum EncoderReparameterizationType {
    /** Linear, ReLU, Linear, ReLU, Linear on each virtual token's embedding. */
    MLP,
    /** A bidirectional LSTM over the virtual tokens, then Linear, ReLU, Linear. */
    LSTM
}

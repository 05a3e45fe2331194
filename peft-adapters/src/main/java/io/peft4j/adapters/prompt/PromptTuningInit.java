package io.peft4j.adapters.prompt;

/** How prompt tuning's virtual-token table starts, as HF PEFT's {@code PromptTuningInit}. */
public enum PromptTuningInit {
    /** Independent N(0, 1) entries, as {@code torch.nn.Embedding}'s default initialisation. */
    RANDOM,
    /** The input embeddings of {@code prompt_tuning_init_text}'s token ids, repeated or cut to the table's length. */
    TEXT,
    /** The input embeddings of token ids drawn uniformly from the vocabulary. */
    SAMPLE_VOCAB
}

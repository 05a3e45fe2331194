package io.peft4j.core.nn;

/** What a module is, for selection by kind (LoRA targets linear layers, HFT skips norms, ...). */
public enum ModuleKind {
    LINEAR,
    EMBEDDING,
    LAYER_NORM,
    /** Root-mean-square normalization (Llama, Mistral, T5): a scale without a mean or a bias. */
    RMS_NORM,
    /** A module that only holds other modules. */
    CONTAINER,
    /** Anything else, e.g. a strategy's wrapper layer. */
    OTHER;

    /** True for every normalization kind; their weights are exempt from weight decay, as in transformers. */
    public boolean isNorm() {
        return this == LAYER_NORM || this == RMS_NORM;
    }
}

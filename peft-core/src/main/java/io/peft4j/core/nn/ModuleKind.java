package io.peft4j.core.nn;

/** What a module is, for selection by kind (LoRA targets linear layers, HFT skips norms, ...). */
public enum ModuleKind {
    LINEAR,
    EMBEDDING,
    LAYER_NORM,
    /** A module that only holds other modules. */
    CONTAINER,
    /** Anything else, e.g. a strategy's wrapper layer. */
    OTHER
}

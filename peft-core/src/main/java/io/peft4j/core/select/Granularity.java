package io.peft4j.core.select;

/** Whether a ranking chooses whole tensors or single elements across tensors. */
public enum Granularity {
    TENSOR,
    ELEMENT
}

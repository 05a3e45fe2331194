package io.peft4j.core.select;

/** What a ranking scores a parameter (or each of its elements) by. */
public enum Criterion {
    /** {@code |w|}: keep the largest weights. */
    MAGNITUDE,
    /** {@code |dL/dw|} from the last backward pass: keep what the loss is most sensitive to. */
    GRADIENT,
    /** Uniform random scores from a seeded generator: a reproducible random choice. */
    RANDOM
}

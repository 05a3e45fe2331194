package io.peft4j.lora;

/** How a new adapter's matrices start, as HF PEFT's {@code init_lora_weights}. */
public enum InitLoraWeights {
    /** {@code true}: A Kaiming-uniform (a = sqrt 5, so U(-1/sqrt(in), 1/sqrt(in))), B zero; the adapter starts as a no-op. */
    DEFAULT,
    /** {@code "gaussian"}: A normal with std 1/r, B zero. */
    GAUSSIAN,
    /** {@code false}: A and B both Kaiming-uniform, so the adapter starts as a random change (for tests and research). */
    RANDOM,
    /**
     * {@code "pissa"}: A and B from the top-r singular triplets of W, the base keeping the residual,
     * so the layer starts exactly as before and trains the principal directions (Meng et al. 2024).
     */
    PISSA
}

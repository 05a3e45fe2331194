package io.peft4j.lora;

/** How {@link LoraModel#addWeightedAdapter} combines adapters, as HF PEFT's {@code combination_type}. */
public enum Combination {
    /**
     * {@code A = sum sqrt(w_i) s_i A_i}, {@code B = sum sqrt(w_i) B_i}: keeps the rank (all adapters
     * must share it) but mixes cross terms {@code B_i A_j}; exact for a single adapter.
     */
    LINEAR,
    /** A and B stacked along the rank: rank is the sum, and {@code B A = sum w_i s_i B_i A_i} exactly. */
    CAT
}

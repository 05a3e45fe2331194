package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * An additive update of a linear layer's weight, applied in every forward: the layer computes with
 * {@code W_eff = W + Σ delta}. LoRA-style low-rank products, sparse deltas (SpIEL) and LT-SFT's
 * composed differences are all deltas; whatever parameters a delta reads receive gradients through it.
 */
@FunctionalInterface
public interface WeightDelta {
    /**
     * The float32 update, shaped as the weight {@code [out, in]}. The result must be owned by
     * {@code step} (start the expression from an array created there, since DJL puts results in the
     * first operand's manager), so that it is freed with the step.
     */
    NDArray delta(NDManager step);
}

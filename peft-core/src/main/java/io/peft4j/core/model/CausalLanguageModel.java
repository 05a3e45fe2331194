package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * A decoder for causal language modelling, split where the loss needs it: {@link #forward} returns the
 * final hidden states ({@code last_hidden_state [B, T, H]}, after the last norm) without applying the
 * output head, and {@link #lmHead} maps any hidden states to logits. The task then applies the head
 * a chunk of positions at a time, so no full {@code [B, T, vocab]} array is ever kept.
 *
 * <p>The head must be affine in the hidden state and deterministic ({@code h W^T + b} with any weight:
 * tied to the embeddings, quantized, or with adapters merged or not), as every transformers
 * {@code lm_head} is; dropout inside the head (e.g. LoRA dropout on {@code lm_head}) needs the
 * unchunked loss.
 */
public interface CausalLanguageModel extends ContextModel {
    /** Logits {@code [..., vocab]} of hidden states {@code [..., H]}; differentiable. */
    NDArray lmHead(ParameterStore ps, NDArray hidden, boolean training);

    /** The width {@code H} of the hidden states the head takes. */
    long hiddenSize();
}

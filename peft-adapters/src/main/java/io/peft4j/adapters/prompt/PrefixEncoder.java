package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.ModuleDict;

/**
 * Prefix tuning's reparameterization, HF PEFT's {@code PrefixEncoder} with {@code prefix_projection}:
 * the table {@code [n, token_dim]} through {@code transform} = Linear(token_dim, encoder_hidden_size),
 * Tanh, Linear(encoder_hidden_size, num_layers * 2 * token_dim). Without the projection the prefixes
 * are a plain {@link PromptEmbedding} of that width.
 */
final class PrefixEncoder extends VirtualTokenEncoder {
    private final long width;

    PrefixEncoder(int rows, int tokenDim, int hidden, long width) {
        super(rows, tokenDim);
        this.width = width;
        ModuleDict transform = registerModule("transform", new ModuleDict());
        transform.put("0", new Linear(tokenDim, hidden, true));
        transform.put("2", new Linear(hidden, width, true));
    }

    @Override
    long width() {
        return width;
    }

    @Override
    NDArray output(ParameterStore ps, NDManager step, boolean training) {
        ModuleDict transform = (ModuleDict) child("transform");
        NDArray h = Activation.tanh(call(transform.get("0"), ps, table(ps, step, training), training));
        return call(transform.get("2"), ps, h, training);
    }
}

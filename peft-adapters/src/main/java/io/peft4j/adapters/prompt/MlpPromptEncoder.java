package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.ModuleDict;

/**
 * P-tuning's MLP prompt encoder, as HF PEFT's {@code PromptEncoder} with {@code MLP}: the table
 * {@code [n, token_dim]} through {@code mlp_head} = Linear(token_dim, hidden), ReLU, Linear(hidden, hidden),
 * ReLU, Linear(hidden, token_dim) (children {@code 0}, {@code 2}, {@code 4} as in the {@code nn.Sequential}).
 */
final class MlpPromptEncoder extends VirtualTokenEncoder {
    private final long tokenDim;

    MlpPromptEncoder(int rows, int tokenDim, int hidden) {
        super(rows, tokenDim);
        this.tokenDim = tokenDim;
        ModuleDict head = registerModule("mlp_head", new ModuleDict());
        head.put("0", new Linear(tokenDim, hidden, true));
        head.put("2", new Linear(hidden, hidden, true));
        head.put("4", new Linear(hidden, tokenDim, true));
    }

    @Override
    long width() {
        return tokenDim;
    }

    @Override
    NDArray output(ParameterStore ps, NDManager step, boolean training) {
        ModuleDict head = (ModuleDict) child("mlp_head");
        NDArray x = table(ps, step, training);
        x = Activation.relu(call(head.get("0"), ps, x, training));
        x = Activation.relu(call(head.get("2"), ps, x, training));
        return call(head.get("4"), ps, x, training);
    }
}

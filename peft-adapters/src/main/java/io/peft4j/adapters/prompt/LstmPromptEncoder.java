package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.ModuleDict;

/**
 * P-tuning's LSTM prompt encoder, as HF PEFT's {@code PromptEncoder} with {@code LSTM}: the table
 * {@code [n, token_dim]} through {@code lstm_head} (bidirectional, {@code encoder_num_layers} layers of
 * width {@code encoder_hidden_size}, {@code encoder_dropout} between them), then {@code mlp_head} =
 * Linear(2h, 2h), ReLU, Linear(2h, token_dim).
 */
final class LstmPromptEncoder extends VirtualTokenEncoder {
    private final long tokenDim;

    LstmPromptEncoder(int rows, int tokenDim, int hidden, int layers, float dropout) {
        super(rows, tokenDim);
        this.tokenDim = tokenDim;
        registerModule("lstm_head", new BidirectionalLstm(tokenDim, hidden, layers, dropout));
        ModuleDict head = registerModule("mlp_head", new ModuleDict());
        head.put("0", new Linear(2L * hidden, 2L * hidden, true));
        head.put("2", new Linear(2L * hidden, tokenDim, true));
    }

    @Override
    long width() {
        return tokenDim;
    }

    @Override
    NDArray output(ParameterStore ps, NDManager step, boolean training) {
        NDArray x = ((BidirectionalLstm) child("lstm_head")).run(table(ps, step, training), training);
        ModuleDict head = (ModuleDict) child("mlp_head");
        x = Activation.relu(call(head.get("0"), ps, x, training));
        return call(head.get("2"), ps, x, training);
    }
}

package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/** transformers' {@code LlamaMLP}: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}. */
public class LlamaMlp extends Module {
    public LlamaMlp(LlamaConfig c) {
        registerModule("gate_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        registerModule("up_proj", new Linear(c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        registerModule("down_proj", new Linear(c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray g = call(child("gate_proj"), ps, x, training);
        NDArray gate = g.mul(Activation.sigmoid(g)); // silu
        NDArray up = call(child("up_proj"), ps, x, training);
        return new NDList(call(child("down_proj"), ps, gate.mul(up), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * {@code LayerNorm(dropout(dense(x)) + residual)}: transformers' {@code BertSelfOutput} (at
 * {@code attention.output}) and {@code BertOutput} (at {@code output}), which differ only in sizes.
 * Inputs: x, residual.
 */
public class BertResidualOutput extends Module {
    private final float dropout;

    public BertResidualOutput(long in, BertConfig c) {
        registerModule("dense", new Linear(in, c.hiddenSize(), true));
        registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        this.dropout = c.hiddenDropoutProb();
    }

    /** The hidden dropout applied to {@code dense}'s output (for modules that take this one's place, e.g. bottleneck adapters). */
    public float dropout() {
        return dropout;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = call(child("dense"), ps, inputs.get(0), training);
        h = Dropout.dropout(h, dropout, training).singletonOrThrow();
        return child("LayerNorm").forward(ps, new NDList(h.add(inputs.get(1))), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[1]};
    }
}

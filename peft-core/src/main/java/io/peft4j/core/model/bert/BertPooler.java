package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/** {@code tanh(dense(hidden[:, 0]))}: the pooled first-token representation. */
public class BertPooler extends Module {
    private final int hiddenSize;

    public BertPooler(BertConfig c) {
        this.hiddenSize = c.hiddenSize();
        registerModule("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
        NDArray first = in.singletonOrThrow().get(new NDIndex(":, 0, :"));
        return new NDList(Activation.tanh(call(child("dense"), ps, first, training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), hiddenSize)};
    }
}

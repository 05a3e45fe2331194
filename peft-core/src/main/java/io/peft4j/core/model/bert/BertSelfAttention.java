package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * Multi-head scaled dot-product self-attention with {@code query}, {@code key}, {@code value}.
 * Inputs: hidden states {@code [B, T, H]} and the additive mask {@code [B, 1, 1, T]}.
 */
public class BertSelfAttention extends Module {
    private final int heads;
    private final int headDim;
    private final float dropout;

    public BertSelfAttention(BertConfig c) {
        registerModule("query", new Linear(c.hiddenSize(), c.hiddenSize(), true));
        registerModule("key", new Linear(c.hiddenSize(), c.hiddenSize(), true));
        registerModule("value", new Linear(c.hiddenSize(), c.hiddenSize(), true));
        this.heads = c.numAttentionHeads();
        this.headDim = c.headDim();
        this.dropout = c.attentionProbsDropoutProb();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray maskBias = inputs.get(1);
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray q = splitHeads(call(child("query"), ps, x, training), b, t);
        NDArray k = splitHeads(call(child("key"), ps, x, training), b, t);
        NDArray v = splitHeads(call(child("value"), ps, x, training), b, t);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(scalar(q, (float) Math.sqrt(headDim))).add(maskBias);
        NDArray probs = Dropout.dropout(scores.softmax(-1), dropout, training).singletonOrThrow();
        NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
        return new NDList(context);
    }

    private NDArray splitHeads(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

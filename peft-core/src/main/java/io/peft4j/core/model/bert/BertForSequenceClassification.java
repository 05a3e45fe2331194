package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * A BERT encoder at {@code bert} and a linear {@code classifier}, named as transformers'
 * {@code BertForSequenceClassification} so adapter files carry over. Inputs as {@link BertModel};
 * output: logits {@code [B, numLabels]}.
 */
public class BertForSequenceClassification extends Module {
    private final int numLabels;
    private final Pooling pooling;
    private final float dropout;

    public BertForSequenceClassification(BertConfig config, boolean withPooler, int numLabels, Pooling pooling) {
        if (numLabels < 2) {
            throw new IllegalArgumentException("numLabels must be at least 2, got " + numLabels);
        }
        if (pooling == Pooling.POOLER && !withPooler) {
            throw new IllegalArgumentException("Pooling.POOLER needs a model with a pooler");
        }
        this.numLabels = numLabels;
        this.pooling = pooling;
        this.dropout = config.hiddenDropoutProb();
        registerModule("bert", new BertModel(config, withPooler));
        registerModule("classifier", new Linear(config.hiddenSize(), numLabels, true));
    }

    public int numLabels() {
        return numLabels;
    }

    public Pooling pooling() {
        return pooling;
    }

    public BertModel bert() {
        return (BertModel) child("bert");
    }

    /** {@code sum(h * mask) / max(sum(mask), 1e-9)} over the sequence. */
    public static NDArray meanPool(NDArray hidden, NDArray attentionMask) {
        NDArray m = attentionMask.toType(DataType.FLOAT32, false).expandDims(-1);
        return hidden.mul(m).sum(new int[] {1}).div(m.sum(new int[] {1}).maximum(1e-9f));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList out = child("bert").forward(ps, inputs, training);
        NDArray pooled = pooling == Pooling.MEAN ? meanPool(out.get(0), inputs.get(1)) : out.get(1);
        pooled = Dropout.dropout(pooled, dropout, training).singletonOrThrow();
        return child("classifier").forward(ps, new NDList(pooled), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numLabels)};
    }
}

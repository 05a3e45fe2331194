package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
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
 * output: logits {@code [B, numLabels]}. The encoder has a pooler only with {@link Pooling#POOLER}.
 */
public class BertForSequenceClassification extends Module {
    private final int numLabels;
    private final Pooling pooling;
    private final float dropout;

    /** A classifier whose encoder has a pooler exactly when {@code pooling} is {@link Pooling#POOLER}. */
    public BertForSequenceClassification(BertConfig config, int numLabels, Pooling pooling) {
        this(config, pooling == Pooling.POOLER, numLabels, pooling);
    }

    /**
     * @param checkpointHasPooler whether pooler weights exist for the encoder; {@link Pooling#POOLER}
     *     needs them, the other poolings build no pooler whatever the checkpoint holds
     */
    public BertForSequenceClassification(BertConfig config, boolean checkpointHasPooler, int numLabels, Pooling pooling) {
        if (numLabels < 2) {
            throw new IllegalArgumentException("numLabels must be at least 2, got " + numLabels);
        }
        if (pooling == Pooling.POOLER && !checkpointHasPooler) {
            throw new IllegalArgumentException("Pooling.POOLER needs a checkpoint with pooler weights "
                    + "(pooler.dense.weight/bias); this one has none: use Pooling.MEAN or Pooling.CLS");
        }
        this.numLabels = numLabels;
        this.pooling = pooling;
        this.dropout = config.hiddenDropoutProb();
        registerModule("bert", new BertModel(config, pooling == Pooling.POOLER));
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

    /** One vector per sequence from the encoder's outputs, as {@link #pooling()} says. */
    public NDArray pool(NDList encoderOutputs, NDArray attentionMask) {
        switch (pooling) {
            case MEAN:
                return meanPool(encoderOutputs.get(0), attentionMask);
            case CLS:
                return encoderOutputs.get(0).get(new NDIndex(":, 0, :"));
            case POOLER:
                return encoderOutputs.get(1);
            default:
                throw new IllegalStateException("unknown pooling " + pooling);
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList out = child("bert").forward(ps, inputs, training);
        NDArray pooled = pool(out, inputs.get(1));
        pooled = Dropout.dropout(pooled, dropout, training).singletonOrThrow();
        return child("classifier").forward(ps, new NDList(pooled), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numLabels)};
    }
}

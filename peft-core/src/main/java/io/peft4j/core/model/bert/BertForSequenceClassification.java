package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.ContextModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * A BERT encoder at {@code bert} and a linear {@code classifier}, named as transformers'
 * {@code BertForSequenceClassification} so adapter files carry over. Inputs as {@link BertModel};
 * outputs: {@code logits [B, numLabels]}, {@code last_hidden_state} and the pooled {@code embeddings}.
 * The encoder has a pooler only with {@link Pooling#POOLER}.
 */
public class BertForSequenceClassification extends Module implements ContextModel {
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
    public NDArray pool(ModelOutput encoded, NDArray attentionMask) {
        switch (pooling) {
            case MEAN:
                return meanPool(encoded.lastHiddenState(), attentionMask);
            case CLS:
                return encoded.lastHiddenState().get(new NDIndex(":, 0, :"));
            case POOLER:
                return encoded.pooled();
            default:
                throw new IllegalStateException("unknown pooling " + pooling);
        }
    }

    /** Positional form: inputs as {@link BertModel}'s; output: the logits. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, BertModel.positional(inputs), training).logits());
    }

    /**
     * {@code logits [B, numLabels]}, the encoder's {@code last_hidden_state}, and the pooled
     * {@code embeddings [B, H]} the classifier reads (before dropout). The pooler runs only with
     * {@link Pooling#POOLER}.
     */
    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training) {
        ModelOutput encoded = bert().forward(ps, context, training, pooling == Pooling.POOLER);
        NDArray hidden = encoded.lastHiddenState();
        NDArray pooled = pool(encoded, context.attentionMaskOrOnes());
        NDArray dropped = Dropout.dropout(pooled, dropout, training).singletonOrThrow();
        NDArray logits = call(child("classifier"), ps, dropped, training);
        return ModelOutput.builder()
                .put(ModelOutput.LOGITS, logits)
                .put(ModelOutput.LAST_HIDDEN_STATE, hidden)
                .put(ModelOutput.EMBEDDINGS, pooled)
                .build();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numLabels)};
    }
}

package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
 */
public class BertForSequenceClassification extends Module implements ContextModel {
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

    /** Positional form: inputs as {@link BertModel}'s; output: the logits. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, BertModel.positional(inputs), training).logits());
    }

    /**
     * {@code logits [B, numLabels]}, the encoder's {@code last_hidden_state}, and the pooled
     * {@code embeddings [B, H]} the classifier reads (before dropout). With mean pooling the pooler is
     * not run.
     */
    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training) {
        ModelOutput encoded = bert().forward(ps, context, training, pooling == Pooling.POOLER);
        NDArray hidden = encoded.lastHiddenState();
        NDArray pooled = pooling == Pooling.MEAN ? meanPool(hidden, context.attentionMaskOrOnes()) : encoded.pooled();
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

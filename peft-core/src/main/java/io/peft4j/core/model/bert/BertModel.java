package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/**
 * transformers' {@code BertModel}: {@code embeddings}, {@code encoder} and an optional {@code pooler}.
 * Inputs: {@code input_ids [B, T]}, {@code attention_mask [B, T]} (1 = token, 0 = padding) and
 * optionally {@code token_type_ids}. Outputs: {@code last_hidden_state [B, T, H]}, then the pooler
 * output {@code [B, H]} when the model has a pooler.
 */
public class BertModel extends Module {
    private final BertConfig config;
    private final boolean withPooler;

    public BertModel(BertConfig config, boolean withPooler) {
        this.config = config;
        this.withPooler = withPooler;
        registerModule("embeddings", new BertEmbeddings(config));
        registerModule("encoder", new BertEncoder(config));
        if (withPooler) {
            registerModule("pooler", new BertPooler(config));
        }
    }

    public BertConfig config() {
        return config;
    }

    public boolean hasPooler() {
        return withPooler;
    }

    /** {@code (1 - mask) * lowest float}, shaped {@code [B, 1, 1, T]} to broadcast over heads and queries. */
    static NDArray additiveMask(NDArray attentionMask) {
        NDArray m = attentionMask.toType(DataType.FLOAT32, false);
        return m.neg().add(1f).mul(-Float.MAX_VALUE).reshape(m.getShape().get(0), 1, 1, m.getShape().get(1));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray mask = inputs.get(1);
        NDList embIn = inputs.size() > 2 ? new NDList(ids, inputs.get(2)) : new NDList(ids);
        NDArray x = child("embeddings").forward(ps, embIn, training).singletonOrThrow();
        NDArray hidden = child("encoder").forward(ps, new NDList(x, additiveMask(mask)), training).singletonOrThrow();
        if (!withPooler) {
            return new NDList(hidden);
        }
        NDArray pooled = child("pooler").forward(ps, new NDList(hidden), training).singletonOrThrow();
        return new NDList(hidden, pooled);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape hidden = inputShapes[0].add(config.hiddenSize());
        return withPooler
                ? new Shape[] {hidden, new Shape(inputShapes[0].get(0), config.hiddenSize())}
                : new Shape[] {hidden};
    }
}

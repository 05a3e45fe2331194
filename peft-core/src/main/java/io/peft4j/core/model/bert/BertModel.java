package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.ContextModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Module;

/**
 * transformers' {@code BertModel}: {@code embeddings}, {@code encoder} and an optional {@code pooler}.
 * Takes a {@link ForwardContext} ({@code input_ids} or {@code inputs_embeds}, {@code attention_mask},
 * {@code token_type_ids}, {@code position_ids}) and returns {@code last_hidden_state [B, T, H]} and,
 * when the model has a pooler, {@code pooler_output [B, H]}. The positional form takes
 * {@code input_ids, attention_mask[, token_type_ids]} and returns the same arrays in that order.
 */
public class BertModel extends Module implements ContextModel {
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

    /** Positional form: {@code input_ids}, {@code attention_mask}[, {@code token_type_ids}] to hidden states[, pooled]. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ModelOutput out = forward(ps, positional(inputs), training);
        return withPooler
                ? new NDList(out.lastHiddenState(), out.pooled())
                : new NDList(out.lastHiddenState());
    }

    /** The named form of the positional inputs {@code input_ids, attention_mask[, token_type_ids]}. */
    static ForwardContext positional(NDList inputs) {
        ForwardContext.Builder ctx = ForwardContext.builder().inputIds(inputs.get(0)).attentionMask(inputs.get(1));
        if (inputs.size() > 2) {
            ctx.tokenTypeIds(inputs.get(2));
        }
        return ctx.build();
    }

    /** {@code last_hidden_state}, and {@code pooler_output} when the model has a pooler. */
    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training) {
        return forward(ps, context, training, withPooler);
    }

    /**
     * @param pool whether to run the pooler: a head that mean-pools never reads its output, so the
     *     pooler's weights take no part in that model's forward
     */
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training, boolean pool) {
        if (context.keyValueCache() != null) {
            throw new IllegalArgumentException("BERT attends to the current tokens only; it takes no key/value cache");
        }
        if (pool && !withPooler) {
            throw new IllegalArgumentException("This BERT model has no pooler");
        }
        BertEmbeddings embeddings = (BertEmbeddings) child("embeddings");
        NDArray x = embeddings.embed(ps, context, training);
        NDArray mask = additiveMask(context.attentionMaskOrOnes());
        NDArray hidden = child("encoder").forward(ps, new NDList(x, mask), training).singletonOrThrow();
        ModelOutput.Builder out = ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, hidden);
        if (pool) {
            out.put(ModelOutput.POOLER_OUTPUT, call(child("pooler"), ps, hidden, training));
        }
        return out.build();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape hidden = inputShapes[0].add(config.hiddenSize());
        return withPooler
                ? new Shape[] {hidden, new Shape(inputShapes[0].get(0), config.hiddenSize())}
                : new Shape[] {hidden};
    }
}

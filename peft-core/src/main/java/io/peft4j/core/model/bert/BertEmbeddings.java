package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Module;

/** Word (or given input), position and token-type embeddings, summed, normalized and dropped out. */
public class BertEmbeddings extends Module {
    private final float dropout;
    private final boolean positionsAfterPadding;
    private final int padTokenId;
    private final int maxPositions;

    public BertEmbeddings(BertConfig c) {
        this.positionsAfterPadding = c.variant().positionsAfterPadding();
        this.padTokenId = c.padTokenId();
        this.maxPositions = c.maxPositionEmbeddings();
        registerModule("word_embeddings", new Embedding(c.vocabSize(), c.hiddenSize()));
        registerModule("position_embeddings", new Embedding(c.maxPositionEmbeddings(), c.hiddenSize()));
        registerModule("token_type_embeddings", new Embedding(c.typeVocabSize(), c.hiddenSize()));
        registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        this.dropout = c.hiddenDropoutProb();
    }

    /** Positional form: {@code input_ids} and optionally {@code token_type_ids}. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ForwardContext.Builder ctx = ForwardContext.builder().inputIds(inputs.get(0));
        if (inputs.size() > 1) {
            ctx.tokenTypeIds(inputs.get(1));
        }
        return new NDList(embed(ps, ctx.build(), training));
    }

    /**
     * {@code LayerNorm(inputs_embeds + token_type + position)}, dropped out, as transformers'
     * {@code BertEmbeddings}: {@code inputs_embeds} is the word embedding of {@code input_ids} unless
     * the context gives it; token types default to 0 and positions to {@code past, ..., past + T - 1}.
     */
    public NDArray embed(ParameterStore ps, ForwardContext ctx, boolean training) {
        NDArray words = ctx.inputsEmbeds() != null
                ? ctx.inputsEmbeds()
                : call(child("word_embeddings"), ps, ctx.inputIds(), training);
        NDManager m = ctx.anyInput().getManager();
        long batch = ctx.batchSize();
        long seqLen = ctx.sequenceLength();
        NDArray tokenTypes = ctx.tokenTypeIds() != null
                ? ctx.tokenTypeIds()
                : m.zeros(new Shape(batch, seqLen), DataType.INT64);
        NDArray positions = ctx.positionIds();
        if (positions == null) {
            long past = ctx.keyValueCache() == null ? 0 : ctx.keyValueCache().length();
            positions = ctx.inputIds() != null && past == 0
                    ? positionIds(ctx.inputIds())
                    : sequentialPositions(m, past, seqLen);
        }
        NDArray x = words
                .add(call(child("token_type_embeddings"), ps, tokenTypes, training))
                .add(call(child("position_embeddings"), ps, positions, training));
        x = call(child("LayerNorm"), ps, x, training);
        return Dropout.dropout(x, dropout, training).singletonOrThrow();
    }

    /**
     * The position of every token, {@code [1, T]} or {@code [B, T]} int64: BERT's {@code 0..T-1}; for
     * RoBERTa-style encoders transformers' {@code create_position_ids_from_input_ids}:
     * {@code padding_idx + cumsum(ids != padding_idx) * (ids != padding_idx)}, so real tokens count
     * from {@code padding_idx + 1} and padding tokens sit at {@code padding_idx}.
     */
    public NDArray positionIds(NDArray ids) {
        long seqLen = ids.getShape().get(1);
        checkPositions(positionsAfterPadding ? padTokenId + seqLen : seqLen - 1, seqLen);
        if (!positionsAfterPadding) {
            return ids.getManager().arange(0L, seqLen, 1L, DataType.INT64).expandDims(0);
        }
        NDArray real = ids.neq(padTokenId).toType(DataType.INT64, false);
        return real.cumSum(1).mul(real).add(padTokenId);
    }

    /**
     * Positions when only embeddings are given: {@code past, ..., past + T - 1}, shifted past the padding
     * index for RoBERTa-style encoders (transformers' {@code create_position_ids_from_inputs_embeds}).
     */
    private NDArray sequentialPositions(NDManager m, long past, long seqLen) {
        long first = (positionsAfterPadding ? padTokenId + 1 : 0) + past;
        checkPositions(first + seqLen - 1, seqLen);
        return m.arange(first, first + seqLen, 1L, DataType.INT64).expandDims(0);
    }

    private void checkPositions(long last, long seqLen) {
        if (last >= maxPositions) {
            throw new IllegalArgumentException("a sequence of " + seqLen + " tokens needs position " + last
                    + " but max_position_embeddings is " + maxPositions + ": truncate the input to at most "
                    + (positionsAfterPadding ? maxPositions - padTokenId - 1 : maxPositions) + " tokens");
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child("word_embeddings").getOutputShapes(new Shape[] {inputShapes[0]});
    }
}

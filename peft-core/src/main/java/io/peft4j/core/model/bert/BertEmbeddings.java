package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Module;

/** Word, position and token-type embeddings, summed, normalized and dropped out. Inputs: ids, token types. */
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

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray tokenTypes = inputs.size() > 1 ? inputs.get(1) : ids.zerosLike();
        NDArray positions = positionIds(ids);
        NDArray x = call(child("word_embeddings"), ps, ids, training)
                .add(call(child("token_type_embeddings"), ps, tokenTypes, training))
                .add(call(child("position_embeddings"), ps, positions, training));
        x = call(child("LayerNorm"), ps, x, training);
        return Dropout.dropout(x, dropout, training);
    }

    /**
     * The position of every token, {@code [1, T]} or {@code [B, T]} int64: BERT's {@code 0..T-1}; for
     * RoBERTa-style encoders transformers' {@code create_position_ids_from_input_ids}:
     * {@code padding_idx + cumsum(ids != padding_idx) * (ids != padding_idx)}, so real tokens count
     * from {@code padding_idx + 1} and padding tokens sit at {@code padding_idx}.
     */
    public NDArray positionIds(NDArray ids) {
        long seqLen = ids.getShape().get(1);
        long last = positionsAfterPadding ? padTokenId + seqLen : seqLen - 1;
        if (last >= maxPositions) {
            throw new IllegalArgumentException("a sequence of " + seqLen + " tokens needs position " + last
                    + " but max_position_embeddings is " + maxPositions + ": truncate the input to at most "
                    + (positionsAfterPadding ? maxPositions - padTokenId - 1 : maxPositions) + " tokens");
        }
        if (!positionsAfterPadding) {
            return ids.getManager().arange(0L, seqLen, 1L, DataType.INT64).expandDims(0);
        }
        NDArray real = ids.neq(padTokenId).toType(DataType.INT64, false);
        return real.cumSum(1).mul(real).add(padTokenId);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child("word_embeddings").getOutputShapes(new Shape[] {inputShapes[0]});
    }
}

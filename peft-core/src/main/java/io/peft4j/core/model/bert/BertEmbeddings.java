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

    public BertEmbeddings(BertConfig c) {
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
            positions = m.arange(past, past + seqLen, 1L, DataType.INT64).expandDims(0);
        }
        NDArray x = words
                .add(call(child("token_type_embeddings"), ps, tokenTypes, training))
                .add(call(child("position_embeddings"), ps, positions, training));
        x = call(child("LayerNorm"), ps, x, training);
        return Dropout.dropout(x, dropout, training).singletonOrThrow();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child("word_embeddings").getOutputShapes(new Shape[] {inputShapes[0]});
    }
}

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

    public BertEmbeddings(BertConfig c) {
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
        long seqLen = ids.getShape().get(1);
        NDArray positions = ids.getManager().arange(0L, seqLen, 1L, DataType.INT64).expandDims(0);
        NDArray x = call(child("word_embeddings"), ps, ids, training)
                .add(call(child("token_type_embeddings"), ps, tokenTypes, training))
                .add(call(child("position_embeddings"), ps, positions, training));
        x = call(child("LayerNorm"), ps, x, training);
        return Dropout.dropout(x, dropout, training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child("word_embeddings").getOutputShapes(new Shape[] {inputShapes[0]});
    }
}

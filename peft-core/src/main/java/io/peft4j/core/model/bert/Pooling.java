package io.peft4j.core.model.bert;

/**
 * How a sequence becomes one vector for classification. Only {@link #POOLER} builds and runs the
 * pooler ({@code bert.pooler.dense}); with the others it is not part of the model at all, so no
 * strategy targets, trains, saves or quantizes it.
 */
public enum Pooling {
    /** Mask-weighted mean of the token embeddings, as sentence-transformers models are trained. */
    MEAN,
    /** The first token's ({@code [CLS]}) final hidden state, as bge models are trained for embeddings. */
    CLS,
    /** The pooler's {@code tanh(dense(first token))}, as transformers' {@code BertForSequenceClassification} does. */
    POOLER
}

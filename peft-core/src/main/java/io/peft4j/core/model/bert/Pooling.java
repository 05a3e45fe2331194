package io.peft4j.core.model.bert;

/** How a sequence becomes one vector for classification. */
public enum Pooling {
    /** Mask-weighted mean of the token embeddings, as sentence-transformers models are trained. */
    MEAN,
    /** The pooler's {@code tanh(dense(first token))}, as transformers' {@code BertForSequenceClassification} does. */
    POOLER
}

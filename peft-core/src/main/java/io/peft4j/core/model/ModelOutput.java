package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a forward returns, by transformers' output names: {@code logits}, {@code last_hidden_state},
 * {@code pooler_output}, and the pooled sentence {@code embeddings} where the model pools. A model
 * fills only what it computes; asking for anything else is an error naming what it has.
 */
public final class ModelOutput {
    public static final String LOGITS = "logits";
    public static final String LAST_HIDDEN_STATE = "last_hidden_state";
    public static final String POOLER_OUTPUT = "pooler_output";
    public static final String EMBEDDINGS = "embeddings";

    private final Map<String, NDArray> arrays;

    private ModelOutput(Map<String, NDArray> arrays) {
        this.arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The array of that name; an output without it is an error naming those it holds. */
    public NDArray require(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("The model output has no '" + name + "'; it holds " + arrays.keySet());
        }
        return a;
    }

    public boolean has(String name) {
        return arrays.containsKey(name);
    }

    public Set<String> names() {
        return arrays.keySet();
    }

    /** {@code [B, numLabels]} for a classifier, {@code [B, T, vocab]} for a language model. */
    public NDArray logits() {
        return require(LOGITS);
    }

    /** {@code [B, T, H]}. */
    public NDArray lastHiddenState() {
        return require(LAST_HIDDEN_STATE);
    }

    /** The pooler's output {@code [B, H]} (BERT: tanh over the first token). */
    public NDArray pooled() {
        return require(POOLER_OUTPUT);
    }

    /** One vector per sequence {@code [B, H]}, pooled the way the model's head pools. */
    public NDArray embeddings() {
        return require(EMBEDDINGS);
    }

    public static final class Builder {
        private final Map<String, NDArray> arrays = new LinkedHashMap<>();

        private Builder() {}

        public Builder put(String name, NDArray array) {
            arrays.put(name, array);
            return this;
        }

        public ModelOutput build() {
            return new ModelOutput(arrays);
        }
    }
}

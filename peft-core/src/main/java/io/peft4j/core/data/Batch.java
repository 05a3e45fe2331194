package io.peft4j.core.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One batch of examples as named arrays, under transformers' input names ({@code input_ids},
 * {@code attention_mask}, {@code labels}, ...), so that a model or a task takes what it needs by name
 * instead of by position. The arrays belong to the manager the batch was made in (the step's).
 */
public final class Batch {
    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String TOKEN_TYPE_IDS = "token_type_ids";
    public static final String POSITION_IDS = "position_ids";
    public static final String INPUTS_EMBEDS = "inputs_embeds";
    public static final String LABELS = "labels";
    /** transformers' {@code ignore_index}: a token label that counts for nothing in the loss. */
    public static final int IGNORE_INDEX = -100;

    private final Map<String, NDArray> arrays;
    private final int size;

    private Batch(Map<String, NDArray> arrays, int size) {
        this.arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
        this.size = size;
    }

    public static Builder builder(int size) {
        return new Builder(size);
    }

    /** The number of examples in the batch. */
    public int size() {
        return size;
    }

    public boolean has(String name) {
        return arrays.containsKey(name);
    }

    /** The array of that name, or null when the batch has none. */
    public NDArray get(String name) {
        return arrays.get(name);
    }

    /** The array of that name; a batch without it is an error naming what the batch does hold. */
    public NDArray require(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("The batch has no '" + name + "'; it holds " + arrays.keySet());
        }
        return a;
    }

    public Set<String> names() {
        return arrays.keySet();
    }

    /** A batch with one array added or replaced (e.g. a task adding {@code position_ids}). */
    public Batch with(String name, NDArray array) {
        Map<String, NDArray> copy = new LinkedHashMap<>(arrays);
        copy.put(name, array);
        return new Batch(copy, size);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Batch(" + size);
        arrays.forEach((k, v) -> s.append(", ").append(k).append(v.getShape()));
        return s.append(')').toString();
    }

    public static final class Builder {
        private final int size;
        private final Map<String, NDArray> arrays = new LinkedHashMap<>();

        private Builder(int size) {
            if (size <= 0) {
                throw new IllegalArgumentException("A batch holds at least one example, got " + size);
            }
            this.size = size;
        }

        /** Adds an array whose first dimension is the batch size. */
        public Builder put(String name, NDArray array) {
            if (array.getShape().dimension() == 0 || array.getShape().get(0) != size) {
                throw new IllegalArgumentException("Batch array '" + name + "' has shape " + array.getShape()
                        + "; its first dimension must be the batch size " + size);
            }
            arrays.put(name, array);
            return this;
        }

        /**
         * Adds what {@link io.peft4j.core.text.TextTokenizer#encode} returns (ids, mask, token types, in
         * that order) under {@code prefix + input_ids}, {@code attention_mask} and {@code token_type_ids}.
         */
        public Builder putEncoding(String prefix, NDList encoding) {
            return put(prefix + INPUT_IDS, encoding.get(0))
                    .put(prefix + ATTENTION_MASK, encoding.get(1))
                    .put(prefix + TOKEN_TYPE_IDS, encoding.get(2));
        }

        public Batch build() {
            return new Batch(arrays, size);
        }
    }
}

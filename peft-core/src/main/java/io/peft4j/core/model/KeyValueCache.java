package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * Keys and values an attention layer attends to before the current tokens, per layer, as
 * transformers' {@code past_key_values}: a decoder fills it while generating, prefix tuning fills it
 * with its learned prefixes. Arrays are {@code [B, heads, pastLength, headDim]}. Encoders that do not
 * attend to earlier keys refuse a context that carries one.
 */
public interface KeyValueCache {
    /** How many positions the cache holds; the current tokens' positions start after them. */
    long length();

    /** The keys and values of a layer ({@code [keys, values]}), or null when the cache holds none for it. */
    NDList layer(int index);

    /**
     * Adds the current tokens' keys and values of a layer and returns the keys and values that layer
     * attends to (past then current). A prefix that must not grow returns the concatenation without keeping it.
     */
    NDList append(int index, NDArray keys, NDArray values);
}

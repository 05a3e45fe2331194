package io.peft4j.adapters.prompt;

/**
 * The sizes of a base model that prompt methods read: hidden width, layers, attention heads,
 * key/value heads (grouped-query models have fewer) and head width; {@code decoder} when its attention
 * reads a key/value cache (prefix tuning needs one).
 */
record BaseShape(int hiddenSize, int numLayers, int numHeads, int numKeyValueHeads, int headDim, boolean decoder) {
    /** Keys (or values) per position and layer: {@code kv_heads * head_dim}. */
    int kvWidth() {
        return numKeyValueHeads * headDim;
    }
}

package io.peft4j.core.model;

/**
 * Sanity bounds on a model config's sizes and rates, checked before anything is built: a config
 * outside them is corrupt or hostile (a billion layers would be built until memory runs out; a
 * dropout of 2 fails deep in the engine; a negative epsilon silently corrupts LayerNorm).
 */
public final class ModelBounds {
    /** Far above any released transformer (the deepest have a few hundred layers). */
    public static final int MAX_LAYERS = 1024;
    /** Far above any width in use (the widest have tens of thousands). */
    public static final int MAX_WIDTH = 1 << 20;

    private ModelBounds() {}

    /** Checks the sizes every family has; the message names the field and the bound. */
    public static void check(int vocabSize, int hiddenSize, int numHiddenLayers, int intermediateSize,
            int maxPositionEmbeddings) {
        range("num_hidden_layers", numHiddenLayers, 1, MAX_LAYERS);
        range("hidden_size", hiddenSize, 1, MAX_WIDTH);
        range("intermediate_size", intermediateSize, 1, MAX_WIDTH);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
    }

    public static void range(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    public static void positive(String field, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }

    /** A dropout probability: in [0, 1) (1 would drop everything and scale by infinity). */
    public static void probability(String field, float p) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException(field + " must be a probability in [0, 1), got " + p);
        }
    }

    /** A normalization epsilon: positive and finite. */
    public static void epsilon(String field, float eps) {
        if (!(eps > 0f && Float.isFinite(eps))) {
            throw new IllegalArgumentException(field + " must be positive and finite, got " + eps);
        }
    }
}

package io.peft4j.core.model;

import java.util.Objects;

/** One transformer block of a model: its index in the stack and its dotted module path. */
public final class TransformerLayer {
    private final int index;
    private final String path;

    public TransformerLayer(int index, String path) {
        if (index < 0) {
            throw new IllegalArgumentException("layer index must be >= 0, got " + index + " for '" + path + "'");
        }
        this.index = index;
        this.path = Objects.requireNonNull(path, "path");
    }

    public int index() {
        return index;
    }

    /** e.g. {@code bert.encoder.layer.3}. */
    public String path() {
        return path;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TransformerLayer && ((TransformerLayer) o).index == index
                && ((TransformerLayer) o).path.equals(path);
    }

    @Override
    public int hashCode() {
        return 31 * index + path.hashCode();
    }

    @Override
    public String toString() {
        return index + ":" + path;
    }
}

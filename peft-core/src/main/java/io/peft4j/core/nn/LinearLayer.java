package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * What every linear layer offers whatever stores its weight ({@link Linear} in float32, a quantized
 * layer in codes): strategies that wrap linear layers ask this, not the storage.
 */
public interface LinearLayer {
    long inFeatures();

    long outFeatures();

    boolean hasBias();

    /** The bias, or null when the layer has none. */
    NDArray bias();
}

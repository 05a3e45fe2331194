package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.List;

/**
 * What every linear layer offers whatever stores its weight ({@link Linear} in float32, a quantized
 * layer in codes): strategies that wrap linear layers ask this, not the storage. The layer computes
 * with {@code W + Σ} {@link #weightDeltas()}; {@link #readWeight} and {@link #writeWeight} see the
 * stored {@code W} only.
 */
public interface LinearLayer {
    long inFeatures();

    long outFeatures();

    boolean hasBias();

    /** The bias, or null when the layer has none. */
    NDArray bias();

    /** The stored weight (deltas not included) as a new float32 {@code [out, in]} array owned by {@code manager}. */
    NDArray readWeight(NDManager manager);

    /**
     * Replaces the stored weight with {@code w} ({@code [out, in]}), taking ownership of it: a float
     * layer keeps it (in its own dtype), a quantized layer quantizes it again and frees it.
     */
    void writeWeight(NDArray w);

    /** Adds an update applied in every forward from now on. */
    void addWeightDelta(WeightDelta delta);

    /** Removes a delta added before; false when it was not there. */
    boolean removeWeightDelta(WeightDelta delta);

    /** The deltas applied in forward, in the order they were added. */
    List<WeightDelta> weightDeltas();
}

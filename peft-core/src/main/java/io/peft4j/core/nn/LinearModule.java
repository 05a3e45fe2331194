package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/**
 * What {@link Linear} and the quantized linear layer share whatever stores their weight: the shape,
 * the optional {@code bias} parameter, the weight deltas applied in forward and the output shape.
 * Subclasses register their own parameters (the order of registration is the order of saved keys).
 */
public abstract class LinearModule extends Module implements LinearLayer {
    private final long inFeatures;
    private final long outFeatures;
    private final boolean hasBias;
    private final WeightDeltas deltas = new WeightDeltas();

    protected LinearModule(long inFeatures, long outFeatures, boolean hasBias) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.hasBias = hasBias;
    }

    /** The deltas this layer adds to its weight in forward. */
    protected final WeightDeltas deltas() {
        return deltas;
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.LINEAR;
    }

    @Override
    public long inFeatures() {
        return inFeatures;
    }

    @Override
    public long outFeatures() {
        return outFeatures;
    }

    @Override
    public boolean hasBias() {
        return hasBias;
    }

    @Override
    public NDArray bias() {
        return hasBias ? param("bias") : null;
    }

    @Override
    public void addWeightDelta(WeightDelta delta) {
        deltas.add(delta);
    }

    @Override
    public boolean removeWeightDelta(WeightDelta delta) {
        return deltas.remove(delta);
    }

    @Override
    public List<WeightDelta> weightDeltas() {
        return deltas.list();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }
}

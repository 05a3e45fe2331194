package io.peft4j.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.WeightDelta;

/**
 * Holds a dense trainable {@code toy_delta} {@code [out, in]} beside the linear layer it adapts
 * (child {@code base_layer}, as HF PEFT names a wrapped layer) and adds it to that layer as a
 * {@link WeightDelta}: the base computes {@code x (W + D)^T + b}. The delta starts at zero, so a
 * freshly wrapped model computes what the base did.
 */
public final class ToyDeltaLayer extends Module {
    public static final String BASE = "base_layer";
    public static final String DELTA = "toy_delta";

    private final LinearLayer base;
    private final WeightDelta delta;

    public <L extends Module & LinearLayer> ToyDeltaLayer(L base) {
        this.base = base;
        registerModule(BASE, base);
        registerParameter(DELTA, Parameter.Type.WEIGHT, new Shape(base.outFeatures(), base.inFeatures()), Initializer.ZEROS);
        // Starts from a scalar owned by the step so that the result (and the scalar autograd keeps) lives
        // in the step's manager, never in the model's, where it would pile up every step.
        this.delta = step -> step.create(1f).mul(param(DELTA));
        base.addWeightDelta(delta);
    }

    public LinearLayer base() {
        return base;
    }

    public NDArray deltaArray() {
        return param(DELTA);
    }

    /**
     * Detaches the delta from the base layer and closes its parameter; the caller puts the base back
     * into the tree in this layer's place.
     */
    Module unwrap() {
        base.removeWeightDelta(delta);
        unregisterParameter(DELTA);
        return child(BASE);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return child(BASE).forward(ps, inputs, training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child(BASE).getOutputShapes(inputShapes);
    }
}

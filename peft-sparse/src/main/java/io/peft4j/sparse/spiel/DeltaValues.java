package io.peft4j.sparse.spiel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/**
 * One adapter's trained values of a sparse delta, the reference's {@code SparseDelta.values}: a
 * parameter of {@code k} float32 elements, so the optimizer keeps moments for the active values only.
 */
final class DeltaValues extends Module {
    static final String VALUES = "values";

    DeltaValues(long k) {
        registerParameter(VALUES, Parameter.Type.WEIGHT, new Shape(k), Initializer.ZEROS);
    }

    NDArray values() {
        return param(VALUES);
    }

    Parameter parameter() {
        return parameters().get(VALUES);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("DeltaValues holds a parameter and is not called");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("DeltaValues has no output");
    }
}

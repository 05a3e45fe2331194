package io.peft4j.adapters.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/**
 * IA3's vectors keyed by adapter name, like the {@code nn.ParameterDict} HF PEFT keeps them in: the
 * parameter of adapter {@code a} is named {@code ia3_l.a}, saved as {@code ia3_l}.
 */
final class ScaleVectors extends Module {
    void put(String name, Shape shape, Initializer init) {
        registerParameter(name, Parameter.Type.WEIGHT, shape, init);
    }

    void remove(String name) {
        unregisterParameter(name);
    }

    NDArray get(String name) {
        return param(name);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("IA3 scale vectors are read by their layer, never called");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("IA3 scale vectors have no output");
    }
}

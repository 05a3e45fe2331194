package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/**
 * Parameters keyed by adapter name, like PyTorch's {@code nn.ParameterDict}; HF PEFT keeps LoRA's
 * embedding matrices this way, which is why their keys have no {@code .weight} suffix.
 */
final class ParameterDict extends Module {
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
        throw new UnsupportedOperationException("A ParameterDict is not called");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("A ParameterDict has no output");
    }
}

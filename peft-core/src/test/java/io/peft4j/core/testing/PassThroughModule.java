package io.peft4j.core.testing;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/**
 * A module that returns its inputs, for tests whose modules only hold parameters (optimizer roles,
 * tied weights): subclasses register what they need in their constructors.
 */
public abstract class PassThroughModule extends Module {
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return inputs;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}

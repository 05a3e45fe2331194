package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

/** DoRA's trainable magnitude, one value per output feature; its parameter is {@code weight} as in HF PEFT. */
final class DoraMagnitude extends Module {
    DoraMagnitude(long outFeatures) {
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(outFeatures), Initializer.ONES);
    }

    NDArray weight() {
        return param("weight");
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("DoRA's magnitude is applied by its LoRA layer");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("DoRA's magnitude has no output");
    }
}

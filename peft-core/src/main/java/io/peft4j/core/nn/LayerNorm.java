package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/** Layer normalization over the last dimension, with HF's parameter names {@code weight} and {@code bias}. */
public class LayerNorm extends Module {
    private final long dim;
    private final float eps;

    public LayerNorm(long dim, float eps) {
        this.dim = dim;
        this.eps = eps;
        registerParameter("weight", Parameter.Type.GAMMA, new Shape(dim), Initializer.ONES);
        registerParameter("bias", Parameter.Type.BETA, new Shape(dim), Initializer.ZEROS);
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.LAYER_NORM;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(dim), param("weight"), param("bias"), eps);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public String toString() {
        return "LayerNorm(" + dim + ", eps=" + eps + ")";
    }
}

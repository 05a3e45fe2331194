package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.MixedPrecision;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.ops.NativeOps;

/**
 * transformers' {@code LlamaRMSNorm}: {@code weight * x / sqrt(mean(x^2) + eps)} over the last
 * dimension, computed in float32 whatever the input's dtype (as transformers upcasts), and returned
 * in the input's dtype.
 */
public class RmsNorm extends Module {
    private final long dim;
    private final float eps;

    public RmsNorm(long dim, float eps) {
        this.dim = dim;
        this.eps = eps;
        registerParameter("weight", Parameter.Type.GAMMA, new Shape(dim), Initializer.ONES);
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.RMS_NORM;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray in = inputs.singletonOrThrow();
        NDArray x = NativeOps.castDifferentiable(in, DataType.FLOAT32);
        NDArray variance = x.mul(x).mean(new int[] {-1}, true);
        NDArray normed = x.div(variance.add(scalar(variance, eps)).sqrt());
        NDArray w = MixedPrecision.forCompute(param("weight"), DataType.FLOAT32, in.getManager());
        return new NDList(NativeOps.castDifferentiable(normed.mul(w), in.getDataType()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public String toString() {
        return "RmsNorm(" + dim + ", eps=" + eps + ")";
    }
}

package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.ops.NativeOps;

import java.util.ArrayList;
import java.util.List;

/**
 * Mixed-precision storage: the frozen weights of {@link Linear}, {@link Conv1D} and {@link Embedding} layers are kept in
 * float16, which halves the memory they take at rest, while trainable parameters (and so the optimizer
 * state built from their gradients) stay float32. The layers compute in float32: each forward makes a
 * float32 copy of a float16 weight owned by the step (as PyTorch's autocast does), so results differ from
 * an all-float32 run only by the float16 rounding of the frozen weights.
 *
 * <p>Only a layer's {@code weight} changes dtype; biases, norms and quantized layers are left as they are.
 * The same rule decides which weights a loader stores in float16 when a model is loaded with float16
 * frozen weights ({@link #isLayerWeight}), and a model that holds float16 weights is kept so by the
 * trainer ({@link #holdsFloat16}): the dtype is chosen once, at load or in the training config.
 * Storage follows trainability: {@link #apply} stores frozen weights in float16 and puts float32 back
 * under a weight that has become trainable, so it is called again whenever the trainable set changes.
 * Code that reads a weight to change it (merging an adapter, quantizing) should run after
 * {@link #restoreFloat32}, or accept a float16 array from {@code weight()}.
 */
public final class MixedPrecision {
    /** How frozen weights are stored. */
    public static final DataType FROZEN_WEIGHT_TYPE = DataType.FLOAT16;
    /** How trainable parameters are stored and how layers compute. */
    public static final DataType COMPUTE_TYPE = DataType.FLOAT32;

    private MixedPrecision() {}

    /**
     * Stores every frozen Linear/Embedding weight of the model in float16 and every trainable one in
     * float32. Idempotent.
     *
     * @return the dotted names of the weights whose dtype changed, in module order
     */
    public static List<String> apply(ModuleTree model) {
        List<String> changed = new ArrayList<>();
        for (NamedParameter p : layerWeights(model)) {
            DataType wanted = p.isTrainable() ? COMPUTE_TYPE : FROZEN_WEIGHT_TYPE;
            if (convert(p, wanted)) {
                changed.add(p.name());
            }
        }
        return changed;
    }

    /**
     * Puts every Linear/Embedding weight back in float32 (values keep their float16 rounding).
     *
     * @return the dotted names of the weights whose dtype changed, in module order
     */
    public static List<String> restoreFloat32(ModuleTree model) {
        List<String> changed = new ArrayList<>();
        for (NamedParameter p : layerWeights(model)) {
            if (convert(p, COMPUTE_TYPE)) {
                changed.add(p.name());
            }
        }
        return changed;
    }

    /**
     * A stored array in the dtype a computation needs: {@code stored} itself when it already has it, else
     * a cast that autograd sees through (a trainable float16 weight still gets its gradient), owned by
     * {@code owner} (the step's manager) so that the copy is freed with the step, not kept by the model.
     */
    public static NDArray forCompute(NDArray stored, DataType compute, NDManager owner) {
        if (stored.getDataType() == compute) {
            return stored;
        }
        NDArray copy = NativeOps.castDifferentiable(stored, compute);
        copy.attach(owner);
        return copy;
    }

    /**
     * True for the parameters this class stores in float16 when frozen: the {@code weight} of a
     * {@link Linear}, {@link Conv1D} or {@link Embedding} layer (they widen it per step in forward).
     */
    public static boolean isLayerWeight(NamedParameter p) {
        boolean layer = p.module() instanceof Linear || p.module() instanceof Conv1D || p.module() instanceof Embedding;
        return layer && p.localName().equals("weight");
    }

    /** True when some layer weight of the model is stored in float16 (applied here, or loaded so). */
    public static boolean holdsFloat16(ModuleTree model) {
        for (NamedParameter p : layerWeights(model)) {
            if (p.parameter().getArray().getDataType() == FROZEN_WEIGHT_TYPE) {
                return true;
            }
        }
        return false;
    }

    private static List<NamedParameter> layerWeights(ModuleTree model) {
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : model.namedParameters()) {
            if (isLayerWeight(p) && p.parameter().isInitialized()) {
                out.add(p);
            }
        }
        return out;
    }

    private static boolean convert(NamedParameter p, DataType wanted) {
        NDArray current = p.parameter().getArray();
        if (current.getDataType() == wanted) {
            return false;
        }
        // In the model's manager (the first operand's), made before setParameterArray releases the old one.
        NDArray converted = current.toType(wanted, true);
        p.module().setParameterArray(p.localName(), converted);
        return true;
    }
}

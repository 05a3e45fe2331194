package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;

import java.util.Collection;

/**
 * Global-norm gradient clipping as PyTorch's {@code clip_grad_norm_}, and gradient zeroing. The
 * norm of all gradients together is computed on the device and read back once per step: a per-tensor
 * {@code getFloat} would stall the device once for every parameter.
 */
public final class GradientClipping {
    /** PyTorch's guard against dividing by a zero norm. */
    private static final double EPS = 1e-6;

    private GradientClipping() {}

    /**
     * The L2 norm of all {@code grads} taken as one vector, read from the device once. NaN or
     * infinite when any gradient element is.
     */
    public static double globalNorm(Collection<NDArray> grads) {
        if (grads.isEmpty()) {
            return 0;
        }
        NDList sums = new NDList(grads.size());
        for (NDArray g : grads) {
            sums.add(g.square().sum());
        }
        // The temporaries go to the manager of the first gradient: the caller's step manager.
        NDArray stacked = NDArrays.stack(sums);
        return Math.sqrt(stacked.sum().getFloat());
    }

    /**
     * Scales all gradients in place so that their global norm is at most {@code maxNorm} (no-op when
     * it already is, or when {@code maxNorm} is 0) and returns the norm before clipping.
     */
    public static double clip(Collection<NDArray> grads, double maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + EPS));
            for (NDArray g : grads) {
                g.muli(scale);
            }
        }
        return norm;
    }

    /**
     * Sets every gradient element to 0 in place, NaN and infinities included: {@code g - g} or
     * {@code g * 0} would keep a NaN and carry a skipped bad step into the next one.
     */
    public static void zero(Collection<NDArray> grads) {
        for (NDArray g : grads) {
            g.set(new NDIndex("..."), 0f);
        }
    }
}

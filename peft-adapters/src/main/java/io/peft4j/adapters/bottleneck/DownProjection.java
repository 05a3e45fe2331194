package io.peft4j.adapters.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * AdapterHub's {@code adapter_down}, an {@code nn.Sequential} of an optional new layer norm
 * ({@code ln_before}), the down-projection and the non-linearity: its children are numbered as the
 * sequential numbers them ({@code 0} the projection, or {@code 0} the norm and {@code 1} the projection),
 * so parameter names match AdapterHub's ({@code adapter_down.0.weight}).
 */
final class DownProjection extends Module {
    private final String linearIndex;
    private final NonLinearity nonLinearity;

    /** AdapterHub's {@code nn.LayerNorm} default epsilon. */
    static final float LN_EPS = 1e-5f;

    DownProjection(long hidden, int bottleneck, boolean lnBefore, NonLinearity nonLinearity, BottleneckInit init) {
        this.nonLinearity = nonLinearity;
        if (lnBefore) {
            registerModule("0", new LayerNorm(hidden, LN_EPS));
        }
        this.linearIndex = lnBefore ? "1" : "0";
        registerModule(linearIndex, new Linear(hidden, bottleneck, true, init.downProjection(hidden)));
    }

    Linear linear() {
        return (Linear) child(linearIndex);
    }

    /** The {@code ln_before} norm, or null. */
    LayerNorm norm() {
        return linearIndex.equals("1") ? (LayerNorm) child("0") : null;
    }

    String linearIndex() {
        return linearIndex;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        if (norm() != null) {
            x = call(norm(), ps, x, training);
        }
        return new NDList(nonLinearity.apply(call(linear(), ps, x, training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return linear().getOutputShapes(inputShapes);
    }
}

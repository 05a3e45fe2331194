package io.peft4j.adapters.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One bottleneck adapter at one place of one layer: AdapterHub's {@code Adapter} with its
 * {@code pre_forward}, {@code forward} and {@code post_forward} (sequential, no gating), children named
 * as AdapterHub names them ({@code adapter_down}, {@code adapter_up}, {@code adapter_norm_after}).
 */
public final class BottleneckAdapter extends Module {
    private final BottleneckConfig config;

    BottleneckAdapter(long hidden, BottleneckConfig config) {
        this.config = config;
        int r = config.bottleneckSize(hidden);
        registerModule("adapter_down",
                new DownProjection(hidden, r, config.lnBefore(), config.nonLinearity(), config.initWeights()));
        registerModule("adapter_up", new Linear(r, hidden, true, Initializer.ZEROS));
        if (config.lnAfter()) {
            registerModule("adapter_norm_after", new LayerNorm(hidden, DownProjection.LN_EPS));
        }
    }

    public BottleneckConfig config() {
        return config;
    }

    private DownProjection down() {
        return (DownProjection) child("adapter_down");
    }

    /**
     * The sub-layer's output with this adapter: {@code h} is the sub-layer's output after dropout,
     * {@code input} the residual stream entering the sub-layer, {@code layerNorm} the model's own norm.
     */
    NDArray apply(ParameterStore ps, NDArray h, NDArray input, Module layerNorm, boolean training) {
        // pre_forward: where the adapter reads from and which residual it adds back.
        NDArray residual = h;
        NDArray x = h;
        if (config.originalLnBefore()) {
            x = call(layerNorm, ps, h.add(input), training);
        }
        if (!config.residualBeforeLn()) {
            residual = x;
        }
        // forward
        NDArray up = call(child("adapter_up"), ps, call(down(), ps, x, training), training);
        if (config.scaling() != 1f) {
            up = up.mul(scalar(up, config.scaling()));
        }
        NDArray out = config.dropout() > 0 && training
                ? Dropout.dropout(up, config.dropout(), true).singletonOrThrow() : up;
        if (config.adapterResidualBeforeLn()) {
            out = out.add(residual);
        }
        if (config.lnAfter()) {
            out = call(child("adapter_norm_after"), ps, out, training);
        }
        if (!config.adapterResidualBeforeLn()) {
            out = out.add(residual);
        }
        // post_forward
        if (config.originalLnAfter()) {
            out = call(layerNorm, ps, out.add(input), training);
        }
        return out;
    }

    /**
     * The adapter's arrays under the suffixes peft4j saves them with (after the module path of the
     * place, e.g. {@code encoder.layer.0.output.adapter_down.weight}), mapped to in-tree names below this module.
     */
    Map<String, String> savedNames() {
        Map<String, String> out = new LinkedHashMap<>();
        String lin = "adapter_down." + down().linearIndex();
        if (config.lnBefore()) {
            out.put("adapter_norm_before.weight", "adapter_down.0.weight");
            out.put("adapter_norm_before.bias", "adapter_down.0.bias");
        }
        out.put("adapter_down.weight", lin + ".weight");
        out.put("adapter_down.bias", lin + ".bias");
        out.put("adapter_up.weight", "adapter_up.weight");
        out.put("adapter_up.bias", "adapter_up.bias");
        if (config.lnAfter()) {
            out.put("adapter_norm_after.weight", "adapter_norm_after.weight");
            out.put("adapter_norm_after.bias", "adapter_norm_after.bias");
        }
        return out;
    }

    /** An array by its in-tree name below this module, e.g. {@code adapter_down.0.weight}. */
    NDArray array(String inTree) {
        return owner(inTree).parameters().get(local(inTree)).getArray();
    }

    void setArray(String inTree, NDArray array) {
        owner(inTree).setParameterArray(local(inTree), array);
    }

    private Module owner(String inTree) {
        Module m = this;
        String[] parts = inTree.split("\\.");
        for (int i = 0; i < parts.length - 1; i++) {
            m = m.child(parts[i]);
        }
        return m;
    }

    private static String local(String inTree) {
        return inTree.substring(inTree.lastIndexOf('.') + 1);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("A bottleneck adapter is applied by its BottleneckOutput");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}

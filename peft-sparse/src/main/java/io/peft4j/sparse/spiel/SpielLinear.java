package io.peft4j.sparse.spiel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleDict;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.WeightDelta;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.sparse.SparseDelta;

import java.util.HashMap;
import java.util.Map;

/**
 * SpIEL on a linear layer (float {@code Linear} or a quantized base): per adapter, {@code k} trained
 * values ({@code sft_delta.<adapter>.values}) at {@code k} flat positions of the weight, applied as a
 * {@link WeightDelta} of the base, so the forward is one matmul with {@code W + scatter(indices, values)}
 * (a quantized base is dequantized for the forward and the copy dropped by the step). The values'
 * gradient is the dense weight gradient gathered at the indices (scatter's backward); the base stays
 * frozen and no dense gradient is kept.
 *
 * <p>While SpIEL-AG collects gradients for regrowth, a zero-valued probe at candidate positions rides
 * along in the same scatter, so the candidates' gradients come from the same backward pass.
 */
public final class SpielLinear extends AdapterLayer {
    public static final String SFT_DELTA = "sft_delta";

    private final LinearLayer base;
    private final ModuleDict values;
    private final Map<String, NDArray> indices = new HashMap<>();
    private final Map<String, WeightDelta> deltas = new HashMap<>();
    private final Map<String, NDArray[]> probes = new HashMap<>();

    public SpielLinear(LinearLayer base) {
        super((Module) base);
        this.base = base;
        this.values = registerModule(SFT_DELTA, new ModuleDict());
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.OTHER;
    }

    public LinearLayer base() {
        return base;
    }

    /** Elements of the base weight. */
    public long numel() {
        return base.outFeatures() * base.inFeatures();
    }

    /**
     * Adds an adapter with values at the given flat positions (unique, in range); the values' array is
     * owned by {@code manager} (the model's).
     */
    void addAdapter(String name, long[] positions, float[] initial, NDManager manager) {
        // Refuses repeated or out-of-range positions before anything changes.
        SparseDelta.of(name, new long[] {base.outFeatures(), base.inFeatures()}, positions, initial);
        DeltaValues v = values.put(name, new DeltaValues(positions.length));
        // Positions keep the caller's order: slot i of the values belongs to positions[i].
        v.setParameterArray(DeltaValues.VALUES, manager.create(initial));
        indices.put(name, manager.create(positions));
        WeightDelta d = step -> delta(name, step);
        deltas.put(name, d);
        base.addWeightDelta(d);
        adapterCreated(name);
    }

    private NDArray delta(String name, NDManager step) {
        long[] shape = {base.outFeatures(), base.inFeatures()};
        if (isDisabled() || !activeAdapters().contains(name) || mergedAdapters().contains(name)) {
            return step.zeros(new Shape(shape), DataType.FLOAT32);
        }
        NDArray dense = SparseDelta.scatter(indices.get(name), valuesOf(name), shape, step).reshape(-1);
        NDArray[] probe = probes.get(name);
        if (probe != null) {
            dense = dense.scatter(probe[0], probe[1], 0);
        }
        return dense.reshape(new Shape(shape));
    }

    /** The trained values (slot order), owned by the model. */
    public NDArray valuesOf(String name) {
        return ((DeltaValues) values.get(name)).values();
    }

    Parameter valuesParameter(String name) {
        return ((DeltaValues) values.get(name)).parameter();
    }

    /** The flat positions of each slot, int64, owned by the model. */
    public NDArray indicesOf(String name) {
        return indices.get(name);
    }

    /** The adapter's delta as a host value named {@code parameterName}. */
    public SparseDelta snapshot(String name, String parameterName) {
        return SparseDelta.of(parameterName, new long[] {base.outFeatures(), base.inFeatures()},
                indicesOf(name), valuesOf(name));
    }

    /**
     * Moves the given slots to new positions with value 0 (regrowth after a drop): the values change in
     * place, so the parameter and its optimizer state keep their identity; the caller resets the moments
     * of those slots. The new positions must not be active.
     */
    void moveSlots(String name, int[] slots, long[] positions) {
        long[] idx = indicesOf(name).toLongArray();
        float[] val = valuesOf(name).toFloatArray();
        for (int i = 0; i < slots.length; i++) {
            idx[slots[i]] = positions[i];
            val[slots[i]] = 0f;
        }
        // Refuses duplicates and out-of-range positions before anything changes.
        SparseDelta.of(name, new long[] {base.outFeatures(), base.inFeatures()}, idx, val);
        indicesOf(name).set(idx);
        valuesOf(name).set(val);
    }

    /** Candidate positions and the zero leaf whose gradient the next backward fills; both step-owned. */
    void setProbe(String name, NDArray positions, NDArray probe) {
        probes.put(name, new NDArray[] {positions, probe});
    }

    void clearProbe(String name) {
        probes.remove(name);
    }

    @Override
    protected NDArray applyAdapter(NDArray input, NDArray baseOutput, String adapter, boolean training) {
        // The delta already acted inside the base layer's forward (see delta).
        return baseOutput;
    }

    @Override
    protected void mergeAdapter(String name) {
        snapshot(name, name).mergeInto(base);
    }

    @Override
    protected void unmergeAdapter(String name) {
        snapshot(name, name).unmergeFrom(base);
    }

    @Override
    protected void removeAdapter(String name) {
        base.removeWeightDelta(deltas.remove(name));
        probes.remove(name);
        Module v = values.remove(name);
        v.parameters().values().forEach(Parameter::close);
        indices.remove(name).close();
    }

    @Override
    public Map<String, NDArray> adapterArrays(String name) {
        return Map.of(SFT_DELTA + "." + name + "." + DeltaValues.VALUES, valuesOf(name));
    }
}

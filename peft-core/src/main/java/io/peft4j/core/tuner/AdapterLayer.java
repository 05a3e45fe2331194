package io.peft4j.core.tuner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A base layer (child {@code base_layer}, frozen) plus any number of named adapters, of which the
 * active ones act on the output, as HF PEFT's {@code BaseTunerLayer}. The bookkeeping every method
 * shares lives here: adapters by name, the active set, the merged list (merged adapters are folded
 * into the base and skipped in forward) and the disabled switch. A method supplies how an adapter
 * changes the output and how it merges.
 */
public abstract class AdapterLayer extends Module {
    public static final String BASE_LAYER = "base_layer";

    private final Set<String> names = new LinkedHashSet<>();
    private final List<String> merged = new ArrayList<>();
    private List<String> active = List.of();
    private boolean disabled;

    protected AdapterLayer(Module base) {
        registerModule(BASE_LAYER, base);
    }

    public Module baseLayer() {
        return child(BASE_LAYER);
    }

    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(names);
    }

    public boolean hasAdapter(String name) {
        return names.contains(name);
    }

    public List<String> activeAdapters() {
        return active;
    }

    public void setActiveAdapters(List<String> adapters) {
        this.active = List.copyOf(adapters);
    }

    public boolean isDisabled() {
        return disabled;
    }

    public void setDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    public List<String> mergedAdapters() {
        return Collections.unmodifiableList(merged);
    }

    /** Records an adapter whose parameters a subclass has just created. */
    protected final void adapterCreated(String name) {
        if (!names.add(name)) {
            throw new IllegalArgumentException("Adapter '" + name + "' already exists in this layer");
        }
    }

    /** Removes an adapter and frees its parameters; a merged adapter must be unmerged first. */
    public final void deleteAdapter(String name) {
        if (merged.contains(name)) {
            throw new IllegalStateException("Adapter '" + name + "' is merged into the base weights; unmerge it first");
        }
        removeAdapter(name);
        names.remove(name);
        List<String> a = new ArrayList<>(active);
        a.remove(name);
        active = List.copyOf(a);
    }

    /** Frees the adapter's parameters and modules. */
    protected abstract void removeAdapter(String name);

    /** The arrays of the adapter's parameters, by their names relative to this layer (e.g. {@code lora_A.default.weight}). */
    public abstract Map<String, NDArray> adapterArrays(String name);

    /** The key HF PEFT saves a relative parameter name under; by default the name without the adapter's. */
    public String savedKey(String relative, String adapter) {
        return HfKeys.withoutAdapter(relative, adapter);
    }

    /** The adapter's parameters: every parameter below this layer (base excluded) with the adapter's name in its path. */
    public List<Parameter> adapterParameters(String name) {
        List<Parameter> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules().entrySet()) {
            if (!e.getKey().equals(BASE_LAYER)) {
                collect(e.getValue(), List.of(e.getKey()), name, out);
            }
        }
        return out;
    }

    private static void collect(Module m, List<String> path, String adapter, List<Parameter> out) {
        for (Map.Entry<String, Parameter> p : m.parameters().entrySet()) {
            if (path.contains(adapter) || p.getKey().equals(adapter)) {
                out.add(p.getValue());
            }
        }
        for (Map.Entry<String, Module> c : m.modules().entrySet()) {
            List<String> sub = new ArrayList<>(path);
            sub.add(c.getKey());
            collect(c.getValue(), sub, adapter, out);
        }
    }

    /** The output with the adapter's contribution, for inputs already run through the base layer. */
    protected abstract NDArray applyAdapter(NDArray input, NDArray baseOutput, String adapter, boolean training);

    /** Folds the adapter into the base weight. */
    protected abstract void mergeAdapter(String name);

    /** Takes a merged adapter out of the base weight again. */
    protected abstract void unmergeAdapter(String name);

    /** Drops what a subclass kept to undo merges, when the merged weights are kept for good. */
    protected void mergesKept() {}

    @Override
    protected final NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray result = call(baseLayer(), ps, x, training);
        if (disabled) {
            return new NDList(result);
        }
        for (String a : active) {
            if (names.contains(a) && !merged.contains(a)) {
                result = applyAdapter(x, result, a, training);
            }
        }
        return new NDList(result);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return baseLayer().getOutputShapes(inputShapes);
    }

    /** Folds the named adapters (those not merged yet) into the base weight. */
    public final void merge(List<String> adapters) {
        for (String name : adapters) {
            if (names.contains(name) && !merged.contains(name)) {
                mergeAdapter(name);
                merged.add(name);
            }
        }
    }

    /** Takes every merged adapter out of the base weight again, last merged first. */
    public final void unmerge() {
        while (!merged.isEmpty()) {
            unmergeAdapter(merged.remove(merged.size() - 1));
        }
    }

    /** Forgets that adapters are merged, leaving the base weight as it is (for merge-and-unload). */
    public final void forgetMerged() {
        merged.clear();
        mergesKept();
    }

    /** True for modules below an adapter layer (its base layer and adapter parameters), which are never targets. */
    public static boolean isInside(Map<String, Module> modules, String name) {
        int dot = name.lastIndexOf('.');
        while (dot > 0) {
            if (modules.get(name.substring(0, dot)) instanceof AdapterLayer) {
                return true;
            }
            dot = name.lastIndexOf('.', dot - 1);
        }
        return false;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + baseLayer() + ", adapters=" + Arrays.toString(names.toArray()) + ")";
    }
}

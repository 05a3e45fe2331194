package io.peft4j.core.tuner;

import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * HF PEFT's adapter lifecycle over {@link AdapterLayer}s, for any method: adapters by name
 * ({@link #addAdapter}, {@link #setAdapter}, {@link #deleteAdapter}), {@link #merge}, {@link #unmerge},
 * {@link #mergeAndUnload}, {@link #unload}, {@link #disableAdapters()}, which parameters train, and
 * save/load in HF PEFT's file format. A tuner model is a view: its state lives in the model (layers,
 * registered configs, {@link ModulesToSave}, the active adapter), so any number of views agree.
 *
 * @param <C> the method's config
 * @param <L> the method's adapter layer
 */
public abstract class TunerModel<C extends TunerConfig, L extends AdapterLayer> {
    private static final Logger LOG = LoggerFactory.getLogger(TunerModel.class);
    public static final String DEFAULT_ADAPTER = "default";

    protected final PeftModel model;
    private final Class<C> configType;
    private final Class<L> layerType;

    /** Which adapter is active and whether adapters are switched off; one per model. */
    private static final class State {
        String active;
        boolean disabled;
    }

    protected TunerModel(PeftModel model, Class<C> configType, Class<L> layerType) {
        this.model = model;
        this.configType = configType;
        this.layerType = layerType;
    }

    public PeftModel model() {
        return model;
    }

    private State state() {
        return model.extension(State.class, State::new);
    }

    /** This method's adapters by name, in the order they were added. */
    public Map<String, C> adapters() {
        Map<String, C> out = new LinkedHashMap<>();
        model.adapters().forEach((k, v) -> {
            if (configType.isInstance(v)) {
                out.put(k, configType.cast(v));
            }
        });
        return out;
    }

    public C config(String adapter) {
        C c = adapters().get(adapter);
        if (c == null) {
            throw new IllegalArgumentException("No " + configType.getSimpleName() + " adapter '" + adapter + "'; adapters are "
                    + adapters().keySet());
        }
        return c;
    }

    /** The active adapter, or null when there is none. */
    public String activeAdapter() {
        return state().active;
    }

    /** This method's adapter layers by module path. */
    public Map<String, L> layers() {
        Map<String, L> out = new LinkedHashMap<>();
        model.namedModules().forEach((k, v) -> {
            if (layerType.isInstance(v)) {
                out.put(k, layerType.cast(v));
            }
        });
        return out;
    }

    /**
     * Adds an adapter: the method wraps the layers the config targets (or adds to layers already
     * wrapped) and the adapter gets its own copy of {@code modules_to_save}. The first adapter becomes
     * active; later ones wait for {@link #setAdapter}, as in HF PEFT. On any error the model is unchanged.
     */
    public final void addAdapter(String name, C config) {
        checkNewAdapterName(name);
        C resolved = resolveConfig(config);
        List<String> toSave = inject(name, resolved);
        ModulesToSave.of(model).add(model, name, toSave);
        register(name, resolved);
    }

    /**
     * The config as the method applies and records it on this model: the identity unless the method
     * rewrites a field the model decides, as HF PEFT rewrites LoRA's {@code fan_in_fan_out} to suit
     * the layout of the target layers. Must not change the model.
     */
    protected C resolveConfig(C config) {
        return config;
    }

    /**
     * Creates the adapter's layers (wrapping base layers with new adapter layers set to the current
     * active/disabled state through {@link #wrapLayer}); checks everything before changing anything.
     * Returns the module paths of its {@code modules_to_save}.
     */
    protected abstract List<String> inject(String name, C config);

    /** Replaces a base module by a new adapter layer that follows the model's active adapter and disabled switch. */
    protected final void wrapLayer(String path, L layer) {
        State st = state();
        layer.setActiveAdapters(st.active == null ? List.of() : List.of(st.active));
        layer.setDisabled(st.disabled);
        model.replaceModule(path, layer);
    }

    /** Rejects names HF PEFT could not save and names already used. */
    protected final void checkNewAdapterName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_\\-]+")) {
            throw new IllegalArgumentException("Adapter name must be letters, digits, '_' or '-', got '" + name + "'");
        }
        if (model.adapters().containsKey(name)) {
            throw new IllegalArgumentException("The model already has an adapter named '" + name + "'");
        }
    }

    /** Records a new adapter; the first one becomes active (HF PEFT's behaviour), later ones stay frozen. */
    protected final void register(String name, C config) {
        model.registerAdapter(name, config);
        if (state().active == null) {
            setAdapter(name);
        } else {
            refreshTrainable();
        }
    }

    /** Makes an adapter the active one: its layers compute, and only its parameters train. */
    public void setAdapter(String name) {
        config(name);
        State st = state();
        st.active = name;
        for (L l : layers().values()) {
            l.setActiveAdapters(List.of(name));
        }
        ModulesToSave.of(model).activate(model, st.disabled ? null : name);
        refreshTrainable();
    }

    /** Freezes everything but the active adapter's parameters, its modules_to_save and what {@link #extraTrainable} adds. */
    protected final void refreshTrainable() {
        model.setAllTrainable(false);
        State st = state();
        if (st.active == null || st.disabled) {
            return;
        }
        C c = config(st.active);
        if (c.inferenceMode()) {
            return;
        }
        for (L l : layers().values()) {
            if (l.hasAdapter(st.active)) {
                l.adapterParameters(st.active).forEach(p -> p.freeze(false));
            }
        }
        for (String path : ModulesToSave.of(model).paths(st.active)) {
            ModulesToSave.parameters(model, path).forEach(p -> p.parameter().freeze(false));
        }
        extraTrainable(c, st.active).forEach(p -> p.freeze(false));
    }

    /** Base-model parameters the adapter also trains (LoRA's {@code bias}); none by default. */
    protected List<Parameter> extraTrainable(C config, String adapter) {
        return List.of();
    }

    /** Removes an adapter; layers left without adapters become their base layers again. */
    public void deleteAdapter(String name) {
        config(name);
        for (Map.Entry<String, L> e : layers().entrySet()) {
            if (e.getValue().mergedAdapters().contains(name)) {
                throw new IllegalStateException("Adapter '" + name + "' is merged into '" + e.getKey() + "'; unmerge() first");
            }
        }
        for (Map.Entry<String, L> e : layers().entrySet()) {
            L l = e.getValue();
            if (l.hasAdapter(name)) {
                l.deleteAdapter(name);
                if (l.adapterNames().isEmpty()) {
                    model.replaceModule(e.getKey(), l.baseLayer());
                }
            }
        }
        ModulesToSave.of(model).remove(model, name);
        model.unregisterAdapter(name);
        State st = state();
        if (name.equals(st.active)) {
            st.active = null;
            if (!adapters().isEmpty()) {
                setAdapter(adapters().keySet().iterator().next());
                return;
            }
        }
        refreshTrainable();
    }

    /** Folds the active adapter into the base weights; forward passes then cost what the base model costs. */
    public void merge() {
        String active = requireActive();
        for (L l : layers().values()) {
            l.merge(List.of(active));
        }
    }

    /** Takes merged adapters out of the base weights again. */
    public void unmerge() {
        for (L l : layers().values()) {
            l.unmerge();
        }
    }

    public boolean isMerged() {
        return layers().values().stream().anyMatch(l -> !l.mergedAdapters().isEmpty());
    }

    /**
     * Merges the active adapter and returns the model without any adapter layer of this method: base
     * layers with the merged weights, and the active adapter's {@code modules_to_save} as the model's
     * own modules. Every adapter of this method is removed from the model.
     */
    public PeftModel mergeAndUnload() {
        requireActive();
        if (!isMerged()) {
            merge();
        }
        return unloadLayers();
    }

    /** Removes every adapter layer without merging (the active adapter's modules_to_save stay). */
    public PeftModel unload() {
        unmerge();
        return unloadLayers();
    }

    private PeftModel unloadLayers() {
        for (Map.Entry<String, L> e : layers().entrySet()) {
            L l = e.getValue();
            l.forgetMerged();
            for (String a : new ArrayList<>(l.adapterNames())) {
                l.deleteAdapter(a);
            }
            model.replaceModule(e.getKey(), l.baseLayer());
        }
        ModulesToSave.of(model).clear();
        for (String a : adapters().keySet()) {
            model.unregisterAdapter(a);
        }
        model.removeExtension(ModulesToSave.class);
        model.removeExtension(State.class);
        model.setAllTrainable(false);
        return model;
    }

    protected final String requireActive() {
        String a = state().active;
        if (a == null) {
            throw new IllegalStateException("No active " + configType.getSimpleName() + " adapter");
        }
        return a;
    }

    /**
     * Switches adapters off until the returned handle is closed: the model computes as its base
     * (original {@code modules_to_save} included). A merged adapter is unmerged first, as HF PEFT does.
     */
    public AdaptersOff disableAdapters() {
        if (isMerged()) {
            LOG.info("Unmerging adapter weights to disable adapters");
            unmerge();
        }
        setDisabled(true);
        return new AdaptersOff(this);
    }

    private void setDisabled(boolean off) {
        State st = state();
        st.disabled = off;
        for (L l : layers().values()) {
            l.setDisabled(off);
        }
        ModulesToSave.of(model).activate(model, off ? null : st.active);
        refreshTrainable();
    }

    /** Restores adapters when closed. */
    public static final class AdaptersOff implements AutoCloseable {
        private final TunerModel<?, ?> tuner;
        private boolean closed;

        private AdaptersOff(TunerModel<?, ?> tuner) {
            this.tuner = tuner;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                tuner.setDisabled(false);
            }
        }
    }

    /** The adapter's tensors under the keys HF PEFT writes to {@code adapter_model.safetensors}. */
    public Map<String, Tensor> adapterState(String name) {
        C c = config(name);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, L> e : layers().entrySet()) {
            L l = e.getValue();
            if (l.hasAdapter(name)) {
                l.adapterArrays(name).forEach((rel, array) ->
                        out.put(HfKeys.saved(e.getKey() + "." + l.savedKey(rel, name)), Tensor.of(array)));
            }
        }
        ModulesToSave.of(model).arrays(model, name).forEach((k, v) -> out.put(HfKeys.saved(k), Tensor.of(v)));
        extraState(c, name).forEach((k, v) -> out.put(HfKeys.saved(k), v));
        return out;
    }

    /** Further tensors saved with the adapter, by in-model name (LoRA's biases); none by default. */
    protected Map<String, Tensor> extraState(C config, String adapter) {
        return Map.of();
    }

    /** Saves the adapter in HF PEFT's layout (config with inference_mode true, as HF PEFT writes it). */
    public void save(Path dir, String adapter) throws IOException {
        C c = config(adapter);
        ObjectNode json = c.toJson();
        json.put("inference_mode", true);
        if (c.baseModelNameOrPath() == null) {
            json.put("base_model_name_or_path", model.baseModelName());
        }
        AdapterFiles.write(dir, json, adapterState(adapter));
    }

    /** Saves the active adapter. */
    public void save(Path dir) throws IOException {
        save(dir, requireActive());
    }

    /**
     * Loads an adapter directory written by HF PEFT or peft4j as adapter {@code name}.
     *
     * @param trainable false to freeze it for inference (what {@code inference_mode} in a saved config means)
     */
    public void loadAdapter(Path dir, String name, boolean trainable) throws IOException {
        loadAdapter(dir, name, trainable, c -> c);
    }

    /** As {@link #loadAdapter(Path, String, boolean)}, with the read config adjusted first. */
    protected final void loadAdapter(Path dir, String name, boolean trainable, UnaryOperator<C> adjust)
            throws IOException {
        PeftConfig pc = AdapterFiles.readConfig(dir);
        if (!configType.isInstance(pc)) {
            throw new IOException(dir + ": adapter is " + pc.peftType() + ", not what " + configType.getSimpleName()
                    + " reads");
        }
        Map<String, Tensor> tensors = AdapterFiles.readTensors(dir);
        try {
            tensors = HfKeys.mapOnto(model, tensors);
            loadAdapter(withInferenceMode(adjust.apply(configType.cast(pc)), !trainable), tensors, name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS_FILE) + ": " + e.getMessage(), e);
        }
    }

    /** The config with {@code inference_mode} set. */
    protected abstract C withInferenceMode(C config, boolean on);

    /**
     * Adds adapter {@code name} from tensors keyed as HF PEFT saves them; every key, shape and dtype
     * is checked (see {@link AdapterTensors}) before anything changes.
     */
    public abstract void loadAdapter(C config, Map<String, Tensor> tensors, String name);

    /** Sets an adapter parameter from a saved tensor: the layer's parameter whose saved key is {@code key}. */
    protected final boolean setAdapterTensor(String key, NDArray array, String adapter) {
        String tree = HfKeys.treeName(key);
        for (Map.Entry<String, L> e : layers().entrySet()) {
            if (tree != null && tree.startsWith(e.getKey() + ".") && e.getValue().hasAdapter(adapter)) {
                for (String rel : e.getValue().adapterArrays(adapter).keySet()) {
                    if (tree.equals(e.getKey() + "." + e.getValue().savedKey(rel, adapter))) {
                        NamedParameter p = model.parameter(e.getKey() + "." + rel);
                        p.module().setParameterArray(p.localName(), array);
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + model.architecture() + ", adapters=" + adapters().keySet() + ", active="
                + activeAdapter() + ")";
    }
}

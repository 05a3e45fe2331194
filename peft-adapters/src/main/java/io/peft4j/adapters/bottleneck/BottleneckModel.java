package io.peft4j.adapters.bottleneck;

import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.TransformerLayer;
import io.peft4j.core.model.bert.BertResidualOutput;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.AdapterTensors;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.core.tuner.ModulesToSave;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bottleneck adapters on a {@link PeftModel}: the same lifecycle as the tuner base's (add, set, delete,
 * disable, unload, save, load; the first adapter becomes active, only the active adapter and its
 * {@code modules_to_save} train), for adapters that sit between a sub-layer's output and its residual
 * layer norm rather than around one linear layer, which is why this is not a {@code TunerModel}.
 * Places: every layer of the model's family ({@code family().layers}) but those in {@code leave_out},
 * at {@code <layer>.attention.output} ({@code mh_adapter}) and {@code <layer>.output}
 * ({@code output_adapter}) — BERT's post-norm residual outputs (BERT, RoBERTa, XLM-R). A view:
 * everything lives in the model.
 *
 * <p>Saved keys follow HF PEFT's convention ({@code base_model.model.} + the place's module path +
 * the part's name, without the adapter's name): {@code ...output.adapter_down.weight},
 * {@code adapter_up.weight}, biases, and {@code adapter_norm_before}/{@code adapter_norm_after} when
 * configured. In the model the names are AdapterHub's ({@code ...output.adapters.<name>.adapter_down.0.weight}).
 */
public final class BottleneckModel {
    private static final Logger LOG = LoggerFactory.getLogger(BottleneckModel.class);
    public static final String DEFAULT_ADAPTER = "default";

    private final PeftModel model;

    /** Which adapter is active and whether adapters are switched off; one per model. */
    private static final class State {
        String active;
        boolean disabled;
    }

    private BottleneckModel(PeftModel model) {
        this.model = model;
    }

    public static BottleneckModel of(PeftModel model) {
        return new BottleneckModel(model);
    }

    /** Adds {@code config} as adapter {@code "default"}; it becomes active and trains. */
    public static BottleneckModel wrap(PeftModel model, BottleneckConfig config) {
        BottleneckModel m = of(model);
        m.addAdapter(DEFAULT_ADAPTER, config);
        return m;
    }

    public PeftModel model() {
        return model;
    }

    private State state() {
        return model.extension(State.class, State::new);
    }

    public Map<String, BottleneckConfig> adapters() {
        Map<String, BottleneckConfig> out = new LinkedHashMap<>();
        model.adapters().forEach((k, v) -> {
            if (v instanceof BottleneckConfig) {
                out.put(k, (BottleneckConfig) v);
            }
        });
        return out;
    }

    public BottleneckConfig config(String adapter) {
        BottleneckConfig c = adapters().get(adapter);
        if (c == null) {
            throw new IllegalArgumentException("No bottleneck adapter '" + adapter + "'; adapters are " + adapters().keySet());
        }
        return c;
    }

    public String activeAdapter() {
        return state().active;
    }

    /** The places holding bottleneck adapters, by module path. */
    public Map<String, BottleneckOutput> layers() {
        Map<String, BottleneckOutput> out = new LinkedHashMap<>();
        model.namedModules().forEach((k, v) -> {
            if (v instanceof BottleneckOutput) {
                out.put(k, (BottleneckOutput) v);
            }
        });
        return out;
    }

    /** The module paths a config puts adapters at; an error naming the module when the model has no such place. */
    List<String> places(BottleneckConfig config) {
        List<TransformerLayer> layers;
        try {
            layers = model.family().layers(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Bottleneck adapters need a known model family to find its layers: "
                    + e.getMessage(), e);
        }
        List<String> out = new ArrayList<>();
        for (TransformerLayer l : layers) {
            if (config.leaveOut().contains(l.index())) {
                continue;
            }
            if (config.mhAdapter()) {
                out.add(place(l.path() + ".attention.output"));
            }
            if (config.outputAdapter()) {
                out.add(place(l.path() + ".output"));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("Bottleneck adapter config leaves out every layer of " + model.architecture()
                    + " (leave_out " + config.leaveOut() + ")");
        }
        return out;
    }

    private String place(String path) {
        Module m = model.hasModule(path) ? model.module(path) : null;
        if (!(m instanceof BertResidualOutput || m instanceof BottleneckOutput)) {
            throw new IllegalArgumentException("Bottleneck adapters go after a post-norm residual output (BERT's"
                    + " BertSelfOutput/BertOutput), but " + model.architecture() + " has "
                    + (m == null ? "no module" : "a " + m.getClass().getSimpleName()) + " at '" + path + "'");
        }
        return path;
    }

    /** The hidden size at a place: the width of its {@code dense} output. */
    static long hiddenSize(Module place) {
        return ((LinearLayer) place.child("dense")).outFeatures();
    }

    /** Adds an adapter; the first one becomes active. On any error the model is unchanged. */
    public void addAdapter(String name, BottleneckConfig config) {
        checkNewAdapterName(name);
        List<String> places = places(config);
        List<String> toSave = ModulesToSave.resolve(model, config);
        inject(places, name, config);
        ModulesToSave.of(model).add(model, name, toSave);
        register(name, config);
        LOG.info("Bottleneck adapter '{}' at {} places (size {}, {}), modules_to_save {}", name, places.size(),
                config.bottleneckSize(hiddenSize(model.module(places.get(0)))), config.nonLinearity().jsonName(), toSave);
    }

    private void checkNewAdapterName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_\\-]+")) {
            throw new IllegalArgumentException("Adapter name must be letters, digits, '_' or '-', got '" + name + "'");
        }
        if (model.adapters().containsKey(name)) {
            throw new IllegalArgumentException("The model already has an adapter named '" + name + "'");
        }
    }

    private void inject(List<String> places, String name, BottleneckConfig config) {
        State st = state();
        for (String p : places) {
            Module m = model.module(p);
            BottleneckOutput out;
            if (m instanceof BottleneckOutput) {
                out = (BottleneckOutput) m;
            } else {
                out = new BottleneckOutput((BertResidualOutput) m);
                out.setActive(st.active);
                out.setDisabled(st.disabled);
                model.replaceModule(p, out);
            }
            BottleneckAdapter a = new BottleneckAdapter(out.hiddenSize(), config);
            a.initializeMissing(model.manager());
            out.add(name, a);
        }
    }

    private void register(String name, BottleneckConfig config) {
        model.registerAdapter(name, config);
        if (state().active == null) {
            setAdapter(name);
        } else {
            refreshTrainable();
        }
    }

    /** Makes an adapter the active one: it computes, and only its parameters (and modules_to_save) train. */
    public void setAdapter(String name) {
        config(name);
        State st = state();
        st.active = name;
        layers().values().forEach(l -> l.setActive(name));
        ModulesToSave.of(model).activate(model, st.disabled ? null : name);
        refreshTrainable();
    }

    private void refreshTrainable() {
        model.setAllTrainable(false);
        State st = state();
        if (st.active == null || st.disabled || config(st.active).inferenceMode()) {
            return;
        }
        for (BottleneckOutput l : layers().values()) {
            if (l.hasAdapter(st.active)) {
                l.adapter(st.active).getParameters().values().forEach(p -> p.freeze(false));
            }
        }
        for (String path : ModulesToSave.of(model).paths(st.active)) {
            ModulesToSave.parameters(model, path).forEach(p -> p.parameter().freeze(false));
        }
    }

    /** Removes an adapter; places left without adapters get their original module back. */
    public void deleteAdapter(String name) {
        config(name);
        for (Map.Entry<String, BottleneckOutput> e : layers().entrySet()) {
            BottleneckOutput l = e.getValue();
            if (l.hasAdapter(name)) {
                l.remove(name);
                if (l.adapterNames().isEmpty()) {
                    model.replaceModule(e.getKey(), l.original());
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

    /** Switches adapters off until the returned handle is closed: the model computes as its base. */
    public AutoCloseable disableAdapters() {
        setDisabled(true);
        boolean[] closed = {false};
        return () -> {
            if (!closed[0]) {
                closed[0] = true;
                setDisabled(false);
            }
        };
    }

    private void setDisabled(boolean off) {
        State st = state();
        st.disabled = off;
        layers().values().forEach(l -> l.setDisabled(off));
        ModulesToSave.of(model).activate(model, off ? null : st.active);
        refreshTrainable();
    }

    /** Removes every bottleneck adapter and returns the base model (the active adapter's modules_to_save stay). */
    public PeftModel unload() {
        for (Map.Entry<String, BottleneckOutput> e : layers().entrySet()) {
            BottleneckOutput l = e.getValue();
            for (String a : new ArrayList<>(l.adapterNames())) {
                l.remove(a);
            }
            model.replaceModule(e.getKey(), l.original());
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

    /** The adapter's tensors under the keys peft4j saves (see the class comment). */
    public Map<String, Tensor> adapterState(String name) {
        config(name);
        Map<String, Tensor> out = new LinkedHashMap<>();
        layers().forEach((path, l) -> {
            if (l.hasAdapter(name)) {
                BottleneckAdapter a = l.adapter(name);
                a.savedNames().forEach((saved, inTree) -> out.put(HfKeys.saved(path + "." + saved), Tensor.of(a.array(inTree))));
            }
        });
        ModulesToSave.of(model).arrays(model, name).forEach((k, v) -> out.put(HfKeys.saved(k), Tensor.of(v)));
        return out;
    }

    /** Saves {@code adapter_config.json} ({@code inference_mode} true) and {@code adapter_model.safetensors}. */
    public void save(Path dir, String name) throws IOException {
        BottleneckConfig c = config(name);
        ObjectNode json = c.toJson();
        json.put("inference_mode", true);
        if (c.baseModelNameOrPath() == null) {
            json.put("base_model_name_or_path", model.baseModelName());
        }
        AdapterFiles.write(dir, json, adapterState(name));
    }

    public void save(Path dir) throws IOException {
        String a = activeAdapter();
        if (a == null) {
            throw new IllegalStateException("No active bottleneck adapter to save");
        }
        save(dir, a);
    }

    /** Loads a directory saved by {@link #save} as adapter {@code name}; frozen unless {@code trainable}. */
    public void loadAdapter(Path dir, String name, boolean trainable) throws IOException {
        PeftConfig pc = AdapterFiles.readConfig(dir);
        if (!(pc instanceof BottleneckConfig)) {
            throw new IOException(dir + ": adapter is " + pc.peftType() + ", not " + BottleneckConfig.TYPE);
        }
        Map<String, Tensor> tensors = HfKeys.mapOnto(model, AdapterFiles.readTensors(dir));
        try {
            loadAdapter(((BottleneckConfig) pc).toBuilder().inferenceMode(!trainable).build(), tensors, name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS_FILE) + ": " + e.getMessage(), e);
        }
    }

    /** The shapes of an adapter's tensors on this model, by saved key. */
    Map<String, long[]> expectedShapes(BottleneckConfig config, List<String> places) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String p : places) {
            long h = hiddenSize(model.module(p));
            long r = config.bottleneckSize(h);
            String k = HfKeys.saved(p + ".");
            if (config.lnBefore()) {
                out.put(k + "adapter_norm_before.weight", new long[] {h});
                out.put(k + "adapter_norm_before.bias", new long[] {h});
            }
            out.put(k + "adapter_down.weight", new long[] {r, h});
            out.put(k + "adapter_down.bias", new long[] {r});
            out.put(k + "adapter_up.weight", new long[] {h, r});
            out.put(k + "adapter_up.bias", new long[] {h});
            if (config.lnAfter()) {
                out.put(k + "adapter_norm_after.weight", new long[] {h});
                out.put(k + "adapter_norm_after.bias", new long[] {h});
            }
        }
        ModulesToSave.shapes(model, ModulesToSave.resolve(model, config)).forEach((k, v) -> out.put(HfKeys.saved(k), v));
        return out;
    }

    /** Adds adapter {@code name} from saved tensors; every key, shape and dtype is checked before anything changes. */
    public void loadAdapter(BottleneckConfig config, Map<String, Tensor> tensors, String name) {
        checkNewAdapterName(name);
        List<String> places = places(config);
        AdapterTensors.check(model, expectedShapes(config, places), tensors, "Bottleneck adapter '" + name + "'",
                config.baseModelNameOrPath());
        List<String> toSave = ModulesToSave.resolve(model, config);
        inject(places, name, config);
        ModulesToSave.of(model).add(model, name, toSave);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            NDArray array = e.getValue().toFloat32NDArray(model.manager());
            if (!setAdapterTensor(places, e.getKey(), array, name)) {
                ModulesToSave.of(model).set(model, name, HfKeys.treeName(e.getKey()), array);
            }
        }
        register(name, config);
    }

    private boolean setAdapterTensor(List<String> places, String key, NDArray array, String name) {
        String tree = HfKeys.treeName(key);
        for (String p : places) {
            if (tree.startsWith(p + ".")) {
                BottleneckAdapter a = ((BottleneckOutput) model.module(p)).adapter(name);
                String inTree = a.savedNames().get(tree.substring(p.length() + 1));
                if (inTree != null) {
                    a.setArray(inTree, array);
                    return true;
                }
            }
        }
        return false;
    }

    /** The adapter's trainable parameters by in-model name (for reports and tests). */
    public List<NamedParameter> parameters(String name) {
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : model.namedParameters()) {
            if (p.name().contains(".adapters." + name + ".")) {
                out.add(p);
            }
        }
        return out;
    }
}

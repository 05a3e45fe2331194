package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.Names;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * LoRA on a {@link PeftModel}, with HF PEFT's operations: adapters by name ({@link #addAdapter},
 * {@link #setAdapter}, {@link #deleteAdapter}, {@link #addWeightedAdapter}), {@link #merge},
 * {@link #unmerge}, {@link #mergeAndUnload}, {@link #disableAdapters()}, and save/load in HF PEFT's
 * file format. This object is a view: everything it does lives in the model (its LoRA layers and
 * their adapters), so any number of views on one model agree.
 */
public final class LoraModel {
    private static final Logger LOG = LoggerFactory.getLogger(LoraModel.class);
    /** HF PEFT's prefix for the keys of a non-prompt-learning adapter: PeftModel.base_model (LoraModel).model. */
    public static final String KEY_PREFIX = "base_model.model.";
    public static final String DEFAULT_ADAPTER = "default";

    private final PeftModel model;

    /** Which adapter is active and whether adapters are switched off; kept in the model. */
    static final class State {
        String active;
        boolean disabled;
    }

    private LoraModel(PeftModel model) {
        this.model = model;
    }

    /** A LoRA view of a model (with or without adapters). */
    public static LoraModel of(PeftModel model) {
        return new LoraModel(model);
    }

    /** Adds {@code config} as the adapter {@code "default"} and makes it active: HF PEFT's {@code get_peft_model}. */
    public static LoraModel wrap(PeftModel model, LoraConfig config) {
        LoraModel lora = new LoraModel(model);
        lora.addAdapter(DEFAULT_ADAPTER, config);
        return lora;
    }

    public PeftModel model() {
        return model;
    }

    private State state() {
        return model.extension(State.class, State::new);
    }

    /** The LoRA adapters by name, in the order they were added. */
    public Map<String, LoraConfig> adapters() {
        Map<String, LoraConfig> out = new LinkedHashMap<>();
        model.adapters().forEach((k, v) -> {
            if (v instanceof LoraConfig) {
                out.put(k, (LoraConfig) v);
            }
        });
        return out;
    }

    public LoraConfig config(String adapter) {
        LoraConfig c = adapters().get(adapter);
        if (c == null) {
            throw new IllegalArgumentException("No LoRA adapter '" + adapter + "'; adapters are " + adapters().keySet());
        }
        return c;
    }

    /** The active adapter, or null when there is none. */
    public String activeAdapter() {
        return state().active;
    }

    /** The LoRA layers by module path. */
    public Map<String, LoraLayer> layers() {
        Map<String, LoraLayer> out = new LinkedHashMap<>();
        model.namedModules().forEach((k, v) -> {
            if (v instanceof LoraLayer) {
                out.put(k, (LoraLayer) v);
            }
        });
        return out;
    }

    /**
     * Adds an adapter: wraps the layers the config targets (or adds to layers already wrapped) and
     * gives it its own copy of {@code modules_to_save}. The first adapter becomes active; later ones
     * wait for {@link #setAdapter}, as in HF PEFT. On any error the model is unchanged.
     */
    public void addAdapter(String name, LoraConfig config) {
        LoraPlan plan = LoraPlan.of(model, config, name);
        inject(plan, name);
        register(name, config);
        LOG.info("LoRA adapter '{}' on {} layers (r={}, alpha={}{}{}), modules_to_save {}; {}", name, plan.targets.size(),
                config.r(), config.loraAlpha(), config.useRslora() ? ", rsLoRA" : "", config.useDora() ? ", DoRA" : "",
                plan.modulesToSave, model.trainableReport());
    }

    private void inject(LoraPlan plan, String name) {
        State st = state();
        for (LoraPlan.Target t : plan.targets) {
            LoraLayer layer;
            if (t.module instanceof LoraLayer) {
                layer = (LoraLayer) t.module;
            } else {
                if (t.embedding) {
                    layer = new LoraEmbedding((io.peft4j.core.nn.Embedding) t.module);
                } else if (t.module instanceof QuantizedLinear) {
                    layer = new LoraLinear((QuantizedLinear) t.module);
                } else {
                    layer = new LoraLinear((io.peft4j.core.nn.Linear) t.module);
                }
                layer.setActiveAdapters(st.active == null ? List.of() : List.of(st.active));
                layer.setDisabled(st.disabled);
                model.replaceModule(t.name, layer);
            }
            layer.addAdapter(name, t.settings, plan.config.initLoraWeights(), model.manager());
        }
        ModulesToSave.of(model).add(model, name, plan.modulesToSave);
    }

    /** Makes an adapter the active one: its layers compute, and only its parameters train. */
    public void setAdapter(String name) {
        config(name);
        State st = state();
        st.active = name;
        for (LoraLayer l : layers().values()) {
            l.setActiveAdapters(List.of(name));
        }
        ModulesToSave.of(model).activate(model, st.disabled ? null : name);
        refreshTrainable();
    }

    /** Freezes everything but the active adapter's parameters, its modules_to_save and the biases its config trains. */
    private void refreshTrainable() {
        model.setAllTrainable(false);
        State st = state();
        if (st.active == null || st.disabled) {
            return;
        }
        LoraConfig c = config(st.active);
        if (c.inferenceMode()) {
            return;
        }
        for (LoraLayer l : layers().values()) {
            if (l.hasAdapter(st.active)) {
                for (Parameter p : l.adapterParameters(st.active)) {
                    p.freeze(false);
                }
            }
        }
        ModulesToSave mts = ModulesToSave.of(model);
        for (String path : mts.paths(st.active)) {
            ModulesToSave.parameters(model, path).forEach(p -> p.parameter().freeze(false));
        }
        for (NamedParameter p : biasParameters(c, st.active)) {
            p.parameter().freeze(false);
        }
    }

    private List<NamedParameter> biasParameters(LoraConfig c, String adapter) {
        List<NamedParameter> out = new ArrayList<>();
        if (c.bias() == LoraBias.NONE) {
            return out;
        }
        List<String> saved = ModulesToSave.of(model).paths(adapter);
        for (NamedParameter p : model.namedParameters()) {
            if (!p.localName().equals("bias") || LoraPlan.covers(saved, p.moduleName())) {
                continue;
            }
            if (c.bias() == LoraBias.ALL) {
                out.add(p);
            } else if (p.moduleName().endsWith("." + LoraLayer.BASE_LAYER)) {
                String layer = p.moduleName().substring(0, p.moduleName().length() - LoraLayer.BASE_LAYER.length() - 1);
                Module m = model.module(layer);
                if (m instanceof LoraLayer && ((LoraLayer) m).hasAdapter(adapter)) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    /** Removes an adapter; layers left without adapters become their base layers again. */
    public void deleteAdapter(String name) {
        config(name);
        for (Map.Entry<String, LoraLayer> e : layers().entrySet()) {
            if (e.getValue().mergedAdapters().contains(name)) {
                throw new IllegalStateException("Adapter '" + name + "' is merged into '" + e.getKey() + "'; unmerge() first");
            }
        }
        for (Map.Entry<String, LoraLayer> e : layers().entrySet()) {
            LoraLayer l = e.getValue();
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
        for (LoraLayer l : layers().values()) {
            l.merge(List.of(active));
        }
    }

    /** Takes merged adapters out of the base weights again. */
    public void unmerge() {
        for (LoraLayer l : layers().values()) {
            l.unmerge();
        }
    }

    public boolean isMerged() {
        for (LoraLayer l : layers().values()) {
            if (!l.mergedAdapters().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Merges the active adapter and returns the model without any LoRA layer: base layers with the
     * merged weights, and the active adapter's {@code modules_to_save} as the model's own modules.
     * Every LoRA adapter is removed from the model.
     */
    public PeftModel mergeAndUnload() {
        requireActive();
        if (!isMerged()) {
            merge();
        }
        return unloadLayers();
    }

    /**
     * As {@link #mergeAndUnload()}, choosing what becomes of quantized base layers (QLoRA):
     * {@link QuantizedMerge#REQUANTIZE} adds the update to the dequantized weight and quantizes the sum
     * again (the model stays 4-bit; the merge adds rounding error), {@link QuantizedMerge#DEQUANTIZE}
     * returns float32 layers holding exactly {@code dequant(W) + scaling B A}, and dequantizes every
     * other quantized layer too, so that the result is a plain float32 model.
     */
    public PeftModel mergeAndUnload(QuantizedMerge mode) {
        requireActive();
        if (mode == QuantizedMerge.REQUANTIZE) {
            return mergeAndUnload();
        }
        unmerge();
        // Dequantizing first makes the merge below a float32 merge: no re-quantization anywhere.
        for (Map.Entry<String, LoraLayer> e : layers().entrySet()) {
            if (e.getValue() instanceof LoraLinear) {
                ((LoraLinear) e.getValue()).dequantizeBase(model.manager());
            }
        }
        mergeAndUnload();
        ModelQuantizer.dequantizeAll(model);
        return model;
    }

    /** Removes every LoRA layer without merging (the active adapter's modules_to_save stay). */
    public PeftModel unload() {
        unmerge();
        return unloadLayers();
    }

    private PeftModel unloadLayers() {
        for (Map.Entry<String, LoraLayer> e : layers().entrySet()) {
            LoraLayer l = e.getValue();
            for (String a : new ArrayList<>(l.adapterNames())) {
                l.forgetMerged();
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

    private String requireActive() {
        String a = state().active;
        if (a == null) {
            throw new IllegalStateException("No active LoRA adapter");
        }
        return a;
    }

    /**
     * Switches adapters off until the returned handle is closed: the model computes as its base
     * (original {@code modules_to_save} included). A merged adapter is unmerged first, as HF PEFT does.
     */
    public AdaptersOff disableAdapters() {
        if (isMerged()) {
            LOG.info("Unmerging LoRA weights to disable adapters");
            unmerge();
        }
        setDisabled(true);
        return new AdaptersOff(this);
    }

    void setDisabled(boolean off) {
        State st = state();
        st.disabled = off;
        for (LoraLayer l : layers().values()) {
            l.setDisabled(off);
        }
        ModulesToSave.of(model).activate(model, off ? null : st.active);
        refreshTrainable();
    }

    /** Restores adapters when closed. */
    public static final class AdaptersOff implements AutoCloseable {
        private final LoraModel lora;
        private boolean closed;

        private AdaptersOff(LoraModel lora) {
            this.lora = lora;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                lora.setDisabled(false);
            }
        }
    }

    /**
     * Adds adapter {@code name} as a weighted combination of existing ones, as HF PEFT's
     * {@code add_weighted_adapter} with {@code linear} or {@code cat}. The new adapter has
     * {@code lora_alpha = r}, so its scaling is 1 and the adapters' own scalings are folded into A.
     * Like HF PEFT, adapters with {@code modules_to_save} or DoRA cannot be combined.
     */
    public void addWeightedAdapter(List<String> names, List<Double> weights, String name, Combination combination) {
        if (names.isEmpty() || names.size() != weights.size()) {
            throw new IllegalArgumentException("addWeightedAdapter needs one weight per adapter, got " + names.size()
                    + " adapters and " + weights.size() + " weights");
        }
        LoraPlan.checkAdapterName(name);
        if (model.adapters().containsKey(name)) {
            throw new IllegalArgumentException("The model already has an adapter named '" + name + "'");
        }
        Set<Integer> ranks = new LinkedHashSet<>();
        for (String n : names) {
            LoraConfig c = config(n);
            if (c.useDora()) {
                throw new IllegalArgumentException("addWeightedAdapter: adapter '" + n + "' uses DoRA, which cannot be combined");
            }
            if (!ModulesToSave.of(model).paths(n).isEmpty()) {
                throw new IllegalArgumentException("addWeightedAdapter: adapter '" + n + "' has modules_to_save "
                        + ModulesToSave.of(model).paths(n) + "; HF PEFT refuses to combine those too");
            }
            for (LoraLayer l : layers().values()) {
                if (l.hasAdapter(n)) {
                    ranks.add(l.settings(n).r());
                }
            }
        }
        if (combination == Combination.LINEAR) {
            if (ranks.size() > 1) {
                throw new IllegalArgumentException("addWeightedAdapter LINEAR needs adapters of one rank, got ranks " + ranks
                        + "; use CAT");
            }
            for (double w : weights) {
                if (w < 0) {
                    throw new IllegalArgumentException("addWeightedAdapter LINEAR takes sqrt of the weights; got " + w
                            + ", use CAT for negative weights");
                }
            }
        }
        // Combined rank per layer: the shared rank (LINEAR) or the sum over the adapters the layer has (CAT).
        Map<String, LoraLayer> layers = layers();
        Map<String, Integer> combinedRanks = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            int r = 0;
            for (String n : names) {
                if (e.getValue().hasAdapter(n)) {
                    r = combination == Combination.LINEAR ? e.getValue().settings(n).r() : r + e.getValue().settings(n).r();
                }
            }
            if (r > 0) {
                combinedRanks.put(e.getKey(), r);
            }
        }
        int maxRank = combinedRanks.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        LoraConfig.Builder b = config(names.get(0)).toBuilder().r(maxRank).loraAlpha(maxRank).useRslora(false)
                .targetModules(combinedRanks.keySet().toArray(new String[0])).initLoraWeights(InitLoraWeights.DEFAULT);
        combinedRanks.forEach((t, r) -> {
            if (r != maxRank) {
                b.rankPattern(t, r).alphaPattern(t, r);
            }
        });
        LoraPlan plan = LoraPlan.of(model, b.build(), name);
        inject(plan, name);
        for (String t : combinedRanks.keySet()) {
            layers.get(t).setCombined(name, names, weights, combination);
        }
        model.registerAdapter(name, plan.config);
        refreshTrainable();
    }

    /** The adapter's tensors under the keys HF PEFT writes to {@code adapter_model.safetensors}. */
    public Map<String, Tensor> adapterState(String name) {
        LoraConfig c = config(name);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLayer> e : layers().entrySet()) {
            if (e.getValue().hasAdapter(name)) {
                e.getValue().adapterArrays(name).forEach((rel, array) ->
                        out.put(KEY_PREFIX + e.getKey() + "." + hfKey(rel, name), Tensor.of(array)));
            }
        }
        ModulesToSave.of(model).arrays(model, name).forEach((k, v) -> out.put(KEY_PREFIX + k, Tensor.of(v)));
        for (NamedParameter p : biasParameters(c, name)) {
            out.put(KEY_PREFIX + p.name(), Tensor.of(p.parameter().getArray()));
        }
        return out;
    }

    /** {@code lora_A.default.weight -> lora_A.weight}, {@code lora_magnitude_vector.default.weight -> lora_magnitude_vector}, ... */
    static String hfKey(String relative, String adapter) {
        if (relative.startsWith("lora_magnitude_vector.")) {
            return "lora_magnitude_vector";
        }
        String mid = "." + adapter;
        if (relative.endsWith(mid)) {
            return relative.substring(0, relative.length() - mid.length());
        }
        return relative.replace(mid + ".", ".");
    }

    /** Saves the adapter in HF PEFT's layout (config with inference_mode true, as HF PEFT writes it). */
    public void save(Path dir, String adapter) throws IOException {
        LoraConfig c = config(adapter).toBuilder().inferenceMode(true).baseModelNameOrPath(
                config(adapter).baseModelNameOrPath() != null ? config(adapter).baseModelNameOrPath() : model.baseModelName())
                .build();
        AdapterFiles.save(model, new LoraStrategy(), c, adapter, dir);
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
        PeftConfig pc = AdapterFiles.readConfig(dir);
        if (!(pc instanceof LoraConfig)) {
            throw new IOException(dir + ": adapter is " + pc.peftType() + ", not LORA");
        }
        Path weights = dir.resolve(AdapterFiles.WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new IOException(dir + ": no " + AdapterFiles.WEIGHTS_FILE);
        }
        Map<String, Tensor> tensors = SafeTensors.read(weights).tensors();
        try {
            loadAdapter(((LoraConfig) pc).toBuilder().inferenceMode(!trainable).build(), tensors, name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage(), e);
        }
    }

    /** {@link #of}{@code (model).loadAdapter(dir, "default", trainable)}. */
    public static LoraModel load(PeftModel model, Path dir, boolean trainable) throws IOException {
        LoraModel lora = of(model);
        lora.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        return lora;
    }

    /**
     * Adds adapter {@code name} from tensors keyed as HF PEFT saves them. Every key, shape and dtype
     * is checked against what the config makes of this model before anything changes.
     */
    public void loadAdapter(LoraConfig config, Map<String, Tensor> tensors, String name) {
        LoraPlan plan = LoraPlan.of(model, config, name);
        Map<String, long[]> expected = new LinkedHashMap<>();
        plan.adapterTensorShapes().forEach((k, v) -> expected.put(KEY_PREFIX + k, v));
        Set<String> targetNames = new LinkedHashSet<>();
        plan.targets.forEach(t -> targetNames.add(t.name));
        for (String path : plan.modulesToSave) {
            for (NamedParameter p : ModulesToSave.parameters(model, path)) {
                expected.put(KEY_PREFIX + p.name(), p.parameter().getShape().getShape());
            }
        }
        Map<String, NamedParameter> biases = new LinkedHashMap<>();
        if (config.bias() != LoraBias.NONE) {
            for (NamedParameter p : model.namedParameters()) {
                if (!p.localName().equals("bias") || LoraPlan.covers(plan.modulesToSave, p.moduleName())) {
                    continue;
                }
                boolean target = targetNames.contains(p.moduleName());
                boolean wrapped = p.moduleName().endsWith("." + LoraLayer.BASE_LAYER)
                        && targetNames.contains(p.moduleName().substring(0, p.moduleName().lastIndexOf('.')));
                if (config.bias() == LoraBias.ALL || target || wrapped) {
                    // The name the bias has once its layer is wrapped: <layer>.base_layer.bias.
                    String key = target ? p.moduleName() + "." + LoraLayer.BASE_LAYER + ".bias" : p.name();
                    expected.put(KEY_PREFIX + key, p.parameter().getShape().getShape());
                    biases.put(KEY_PREFIX + key, p);
                }
            }
        }
        Map<String, Tensor> given = normalizeBiasKeys(tensors, expected.keySet());
        List<String> problems = new ArrayList<>();
        Set<String> unexpected = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : given.entrySet()) {
            long[] want = expected.get(e.getKey());
            if (want == null) {
                unexpected.add(e.getKey());
                continue;
            }
            if (!Arrays.equals(want, e.getValue().shape())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but the model needs " + Arrays.toString(want));
            }
            DType dt = e.getValue().dtype();
            if (dt != DType.F32 && dt != DType.F16 && dt != DType.BF16 && dt != DType.F64) {
                problems.add("tensor '" + e.getKey() + "' has dtype " + dt + ", expected a floating-point type");
            }
        }
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(given.keySet());
        if (!missing.isEmpty()) {
            problems.add("missing tensors: " + missing);
        }
        if (!unexpected.isEmpty()) {
            problems.add("unexpected tensors: " + unexpected + foreignHint(unexpected, config));
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("LoRA adapter '" + name + "' does not fit " + model.architecture() + " ("
                    + model.baseModelName() + "): " + String.join("; ", problems));
        }
        inject(plan, name);
        for (Map.Entry<String, Tensor> e : given.entrySet()) {
            String key = e.getKey();
            NDArray array = e.getValue().toFloat32NDArray(model.manager());
            if (biases.containsKey(key)) {
                String inTree = key.substring(KEY_PREFIX.length());
                NamedParameter p = model.parameter(inTree);
                p.module().setParameterArray(p.localName(), array);
            } else if (expected.containsKey(key) && isAdapterKey(key)) {
                NamedParameter p = model.parameter(treeName(key.substring(KEY_PREFIX.length()), name));
                p.module().setParameterArray(p.localName(), array);
            } else {
                ModulesToSave.of(model).set(model, name, key.substring(KEY_PREFIX.length()), array);
            }
        }
        register(name, config);
    }

    /** Records a new adapter; the first one becomes active (HF PEFT's behaviour), later ones stay frozen. */
    private void register(String name, LoraConfig config) {
        model.registerAdapter(name, config);
        if (state().active == null) {
            setAdapter(name);
        } else {
            refreshTrainable();
        }
    }

    /** Older HF PEFT versions saved a wrapped layer's bias without {@code base_layer}; accept both. */
    private static Map<String, Tensor> normalizeBiasKeys(Map<String, Tensor> tensors, Set<String> expected) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String k = e.getKey();
            if (!expected.contains(k) && k.endsWith(".bias")) {
                String withBase = k.substring(0, k.length() - ".bias".length()) + "." + LoraLayer.BASE_LAYER + ".bias";
                if (expected.contains(withBase)) {
                    k = withBase;
                }
            }
            out.put(k, e.getValue());
        }
        return out;
    }

    private static boolean isAdapterKey(String key) {
        return key.endsWith(".lora_A.weight") || key.endsWith(".lora_B.weight") || key.endsWith(".lora_magnitude_vector")
                || key.endsWith(".lora_embedding_A") || key.endsWith(".lora_embedding_B");
    }

    /** The in-model name of a saved adapter key, e.g. {@code x.lora_A.weight -> x.lora_A.<adapter>.weight}. */
    static String treeName(String key, String adapter) {
        if (key.endsWith(".lora_magnitude_vector")) {
            return key + "." + adapter + ".weight";
        }
        if (key.endsWith(".lora_embedding_A") || key.endsWith(".lora_embedding_B")) {
            return key + "." + adapter;
        }
        return key.substring(0, key.length() - ".weight".length()) + "." + adapter + ".weight";
    }

    /** When unexpected keys name modules the model lacks, the adapter was likely made for another model. */
    private String foreignHint(Set<String> unexpected, LoraConfig config) {
        Set<String> modules = model.namedModules().keySet();
        List<String> foreign = new ArrayList<>();
        for (String k : unexpected) {
            String path = k.startsWith(KEY_PREFIX) ? k.substring(KEY_PREFIX.length()) : k;
            int cut = path.indexOf(".lora_");
            String module = cut > 0 ? path.substring(0, cut) : path.substring(0, Math.max(0, path.lastIndexOf('.')));
            if (!modules.contains(module)) {
                foreign.add(module);
            }
        }
        if (foreign.isEmpty()) {
            return "";
        }
        String first = foreign.get(0);
        return ". " + foreign.size() + " of them name modules this " + model.architecture() + " does not have (e.g. '"
                + first + "'; closest: " + Names.closest(first, modules, 3) + "): was the adapter made for another base"
                + " model? Its base_model_name_or_path is '" + config.baseModelNameOrPath() + "', this model is '"
                + model.baseModelName() + "'";
    }

    @Override
    public String toString() {
        return "LoraModel(" + model.architecture() + ", adapters=" + adapters().keySet() + ", active=" + activeAdapter() + ")";
    }
}

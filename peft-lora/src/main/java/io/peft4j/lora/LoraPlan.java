package io.peft4j.lora;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.Names;
import io.peft4j.core.quant.QuantizedLinear;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a LoRA config does to a given model, worked out without touching it: the layers it wraps
 * (with each one's rank, alpha and shapes) and the modules it trains in full. Every error a config
 * can cause on a model is raised here, so applying a plan cannot fail half-way.
 */
final class LoraPlan {
    private static final Logger LOG = LoggerFactory.getLogger(LoraPlan.class);
    /** HF PEFT's default targets per model type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
    private static final Map<String, List<String>> DEFAULT_TARGETS = Map.of("bert", List.of("query", "value"));
    /** HF PEFT adds these to modules_to_save for sequence classification. */
    private static final List<String> SEQ_CLS_HEADS = List.of("classifier", "score");

    static final class Target {
        final String name;
        final Module module;
        final boolean embedding;
        final long in;
        final long out;
        final AdapterSettings settings;

        Target(String name, Module module, boolean embedding, long in, long out, AdapterSettings settings) {
            this.name = name;
            this.module = module;
            this.embedding = embedding;
            this.in = in;
            this.out = out;
            this.settings = settings;
        }
    }

    final LoraConfig config;
    final List<Target> targets;
    final List<String> modulesToSave;

    private LoraPlan(LoraConfig config, List<Target> targets, List<String> modulesToSave) {
        this.config = config;
        this.targets = Collections.unmodifiableList(targets);
        this.modulesToSave = Collections.unmodifiableList(modulesToSave);
    }

    static LoraPlan of(PeftModel model, LoraConfig config, String adapterName) {
        checkAdapterName(adapterName);
        if (model.adapters().containsKey(adapterName)) {
            throw new IllegalArgumentException("The model already has an adapter named '" + adapterName + "'");
        }
        Map<String, Module> modules = model.namedModules();
        List<String> saveNames = modulesToSaveNames(config);
        List<String> toSave = new ArrayList<>();
        for (String n : saveNames) {
            List<String> found = new ArrayList<>();
            for (String name : modules.keySet()) {
                if (!insideLora(modules, name) && (name.equals(n) || name.endsWith("." + n)) && !covers(found, name)) {
                    found.add(name);
                }
            }
            if (found.isEmpty() && (config.modulesToSave() != null && config.modulesToSave().contains(n))) {
                LOG.warn("modules_to_save entry '{}' matches no module of {}; closest: {}", n, model.architecture(),
                        Names.closest(n, modules.keySet(), 3));
            }
            for (String f : found) {
                if (!toSave.contains(f)) {
                    toSave.add(f);
                }
            }
        }

        List<String> targetList = config.targetModules();
        String targetRegex = config.targetModulesRegex();
        if (targetList == null && targetRegex == null) {
            String type = model.architecture().toLowerCase(java.util.Locale.ROOT).startsWith("bert") ? "bert" : null;
            targetList = type == null ? null : DEFAULT_TARGETS.get(type);
            if (targetList == null) {
                throw new IllegalArgumentException("LoraConfig has no target_modules and there is no default for "
                        + model.architecture() + "; set target_modules");
            }
        }
        boolean allLinear = LoraConfig.ALL_LINEAR.equals(targetRegex);
        List<Target> targets = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String name = e.getKey();
            Module m = e.getValue();
            if (name.isEmpty() || insideLora(modules, name) || covers(toSave, name)) {
                continue;
            }
            boolean matched = allLinear ? isLinear(m) : TargetMatcher.nameMatches(targetList, targetRegex, name);
            if (!matched || !TargetMatcher.inLayers(config, name)) {
                continue;
            }
            if (TargetMatcher.nameMatches(config.excludeModules(), config.excludeModulesRegex(), name)) {
                continue;
            }
            targets.add(target(name, m, config));
        }
        if (targets.isEmpty()) {
            List<String> candidates = new ArrayList<>();
            for (Map.Entry<String, Module> e : modules.entrySet()) {
                if (isLinear(e.getValue()) || isEmbedding(e.getValue())) {
                    candidates.add(e.getKey());
                }
            }
            String wanted = targetRegex != null ? targetRegex : String.join(", ", targetList);
            String probe = targetRegex != null ? targetRegex : targetList.get(0);
            throw new IllegalArgumentException("target_modules [" + wanted + "] match no linear or embedding layer of "
                    + model.architecture() + (config.layersToTransform() == null ? "" : " in layers " + config.layersToTransform())
                    + "; closest module names: " + Names.closest(probe, candidates, 5));
        }
        return new LoraPlan(config, targets, toSave);
    }

    private static Target target(String name, Module m, LoraConfig config) {
        Module base = m instanceof LoraLayer ? ((LoraLayer) m).baseLayer() : m;
        int r = config.rankFor(name);
        float alpha = config.alphaFor(name);
        AdapterSettings s = new AdapterSettings(r, alpha, config.useRslora(), config.loraDropout(), config.useDora());
        if (base instanceof LinearLayer) {
            LinearLayer l = (LinearLayer) base;
            if (config.initLoraWeights() == InitLoraWeights.PISSA) {
                if (base instanceof QuantizedLinear) {
                    throw new IllegalArgumentException("init_lora_weights 'pissa' rewrites the base weight, but '" + name
                            + "' is quantized; apply PiSSA before quantizing (as HF PEFT advises)");
                }
                if (r > Math.min(l.inFeatures(), l.outFeatures())) {
                    throw new IllegalArgumentException("PiSSA on '" + name + "' needs r <= "
                            + Math.min(l.inFeatures(), l.outFeatures()) + ", got r = " + r);
                }
            }
            return new Target(name, m, false, l.inFeatures(), l.outFeatures(), s);
        }
        if (base instanceof Embedding) {
            if (config.useDora()) {
                throw new IllegalArgumentException("use_dora: DoRA is supported on linear layers only, but target '" + name
                        + "' is an embedding");
            }
            Embedding emb = (Embedding) base;
            return new Target(name, m, true, emb.numEmbeddings(), emb.dim(), s);
        }
        throw new IllegalArgumentException("Target module '" + name + "' is a " + m
                + "; LoRA supports linear and embedding layers (name those inside it instead)");
    }

    static List<String> modulesToSaveNames(LoraConfig config) {
        List<String> names = new ArrayList<>();
        if (config.modulesToSave() != null) {
            names.addAll(config.modulesToSave());
        }
        if ("SEQ_CLS".equals(config.taskType())) {
            for (String h : SEQ_CLS_HEADS) {
                if (!names.contains(h)) {
                    names.add(h);
                }
            }
        }
        return names;
    }

    static void checkAdapterName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_\\-]+")) {
            throw new IllegalArgumentException("Adapter name must be letters, digits, '_' or '-', got '" + name + "'");
        }
    }

    private static boolean isLinear(Module m) {
        return m instanceof LinearLayer || m instanceof LoraLinear;
    }

    private static boolean isEmbedding(Module m) {
        return m instanceof Embedding || m instanceof LoraEmbedding;
    }

    /** True for modules below a LoRA layer (its base layer and adapter matrices), which are never targets. */
    private static boolean insideLora(Map<String, Module> modules, String name) {
        int dot = name.lastIndexOf('.');
        while (dot > 0) {
            if (modules.get(name.substring(0, dot)) instanceof LoraLayer) {
                return true;
            }
            dot = name.lastIndexOf('.', dot - 1);
        }
        return false;
    }

    /** True when {@code name} is one of the module paths or lies below one. */
    static boolean covers(List<String> paths, String name) {
        for (String p : paths) {
            if (name.equals(p) || name.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    /** Shapes of the adapter tensors by saved key (without the {@code base_model.model.} prefix). */
    Map<String, long[]> adapterTensorShapes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (Target t : targets) {
            int r = t.settings.r();
            if (t.embedding) {
                out.put(t.name + ".lora_embedding_A", new long[] {r, t.in});
                out.put(t.name + ".lora_embedding_B", new long[] {t.out, r});
            } else {
                out.put(t.name + ".lora_A.weight", new long[] {r, t.in});
                out.put(t.name + ".lora_B.weight", new long[] {t.out, r});
                if (t.settings.dora()) {
                    out.put(t.name + ".lora_magnitude_vector", new long[] {t.out});
                }
            }
        }
        return out;
    }
}

package io.peft4j.lora;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.Names;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.select.Selector;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.core.tuner.ModulesToSave;
import io.peft4j.core.tuner.TargetDefaults;
import io.peft4j.core.tuner.TargetMatcher;

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

    /** What {@code config} does to {@code model}; every error it can cause is raised here. */
    static LoraPlan of(PeftModel model, LoraConfig config) {
        Map<String, Module> modules = model.namedModules();
        List<String> toSave = ModulesToSave.resolve(model, config);
        boolean defaults = config.targetModules() == null && config.targetModulesRegex() == null;
        Selector linear = (n, m) -> isLinear(m);
        Selector chosen = TargetMatcher.targets(config, linear, defaults ? TargetDefaults.of(model, LoraConfig.TYPE) : null);
        List<Target> targets = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || AdapterLayer.isInside(modules, name) || ModulesToSave.covers(toSave, name)) {
                continue;
            }
            if (chosen.test(name, e.getValue())) {
                targets.add(target(name, e.getValue(), config));
            }
        }
        if (targets.isEmpty()) {
            List<String> candidates = Selector.all().and((n, m) -> isLinear(m) || isEmbedding(m)).modules(model);
            String wanted = config.targetModulesRegex() != null ? config.targetModulesRegex()
                    : String.join(", ", defaults ? TargetDefaults.of(model, LoraConfig.TYPE) : config.targetModules());
            String probe = config.targetModulesRegex() != null ? config.targetModulesRegex() : wanted.split(", ")[0];
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
                if (base instanceof Conv1D) {
                    throw new IllegalArgumentException("init_lora_weights 'pissa' on '" + name + "': PiSSA is supported on "
                            + "[out, in] linear layers only, not on Conv1D; use init_lora_weights true or 'gaussian'");
                }
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

    /**
     * {@code fan_in_fan_out} as HF PEFT leaves it after creating the layers: it warns and sets the
     * flag to true at each {@code Conv1D} target (weight stored {@code [in, out]}) and to false at each
     * {@code nn.Linear} one, so the last linear target decides. peft4j's layers know their own layout
     * ({@link Conv1D} adds {@code (B A)^T} to its stored weight), so the flag only has to be recorded
     * as HF PEFT records it.
     */
    boolean fanInFanOut() {
        boolean on = config.fanInFanOut();
        for (Target t : targets) {
            if (t.embedding) {
                continue;
            }
            Module base = t.module instanceof LoraLayer ? ((LoraLayer) t.module).baseLayer() : t.module;
            boolean conv1d = base instanceof Conv1D;
            if (conv1d != on) {
                LOG.warn(conv1d ? "fan_in_fan_out is set to False but the target module '{}' is `Conv1D`. Setting fan_in_fan_out to True."
                        : "fan_in_fan_out is set to True but the target module '{}' is a linear layer stored [out, in]. "
                                + "Setting fan_in_fan_out to False.", t.name);
                on = conv1d;
            }
        }
        return on;
    }

    private static boolean isLinear(Module m) {
        return m instanceof LinearLayer || m instanceof LoraLinear;
    }

    private static boolean isEmbedding(Module m) {
        return m instanceof Embedding || m instanceof LoraEmbedding;
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

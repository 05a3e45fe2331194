package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.core.tuner.AdapterTensors;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.core.tuner.ModulesToSave;
import io.peft4j.core.tuner.TargetDefaults;
import io.peft4j.core.tuner.TunerModel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA on a {@link PeftModel}: HF PEFT's adapter lifecycle (from {@link TunerModel}: add, set,
 * delete, merge, unmerge, disable, save, load) plus what only LoRA has: weighted combinations of
 * adapters ({@link #addWeightedAdapter}), trained biases ({@code bias}) and merging onto quantized
 * bases ({@link #mergeAndUnload(QuantizedMerge)}). A view: everything lives in the model.
 */
public final class LoraModel extends TunerModel<LoraConfig, LoraLayer> {
    private static final Logger LOG = LoggerFactory.getLogger(LoraModel.class);
    /** HF PEFT's prefix for the keys of a non-prompt-learning adapter. */
    public static final String KEY_PREFIX = HfKeys.PREFIX;

    private LoraModel(PeftModel model) {
        super(model, LoraConfig.class, LoraLayer.class);
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

    /** {@link #of}{@code (model).loadAdapter(dir, "default", trainable)}. */
    public static LoraModel load(PeftModel model, Path dir, boolean trainable) throws IOException {
        LoraModel lora = of(model);
        lora.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        return lora;
    }

    /** Loads with {@code fallback} as the base's quantization when the adapter's config records none (QLoRA). */
    void loadAdapter(Path dir, String name, boolean trainable, QuantizationConfig fallback) throws IOException {
        loadAdapter(dir, name, trainable, c -> c.quantization() != null ? c : c.toBuilder().quantization(fallback).build());
    }

    /**
     * HF PEFT's two rewrites of a config on injection: {@code fan_in_fan_out} (see
     * {@link LoraPlan#fanInFanOut}), and a config without {@code target_modules} gets the family's
     * defaults written into it, so the saved adapter_config.json names what was adapted.
     */
    @Override
    protected LoraConfig resolveConfig(LoraConfig config) {
        LoraConfig resolved = config;
        if (config.targetModules() == null && config.targetModulesRegex() == null) {
            resolved = resolved.toBuilder()
                    .targetModules(TargetDefaults.of(model, LoraConfig.TYPE).toArray(new String[0])).build();
        }
        boolean fanInFanOut = LoraPlan.of(model, resolved).fanInFanOut();
        return fanInFanOut == resolved.fanInFanOut() ? resolved : resolved.toBuilder().fanInFanOut(fanInFanOut).build();
    }

    @Override
    protected List<String> inject(String name, LoraConfig config) {
        LoraPlan plan = QLora.quantizeIfRecorded(model, LoraPlan.of(model, config));
        injectPlan(plan, name);
        LOG.info("LoRA adapter '{}' on {} layers (r={}, alpha={}{}{}), modules_to_save {}", name, plan.targets.size(),
                config.r(), config.loraAlpha(), config.useRslora() ? ", rsLoRA" : "", config.useDora() ? ", DoRA" : "",
                plan.modulesToSave);
        return plan.modulesToSave;
    }

    private void injectPlan(LoraPlan plan, String name) {
        for (LoraPlan.Target t : plan.targets) {
            LoraLayer layer;
            if (t.module instanceof LoraLayer) {
                layer = (LoraLayer) t.module;
            } else {
                if (t.embedding) {
                    layer = new LoraEmbedding((Embedding) t.module);
                } else if (t.module instanceof Conv1D) {
                    layer = new LoraLinear((Conv1D) t.module);
                } else if (t.module instanceof QuantizedLinear) {
                    layer = new LoraLinear((QuantizedLinear) t.module);
                } else {
                    layer = new LoraLinear((Linear) t.module);
                }
                wrapLayer(t.name, layer);
            }
            layer.addAdapter(name, t.settings, plan.config.initLoraWeights(), model.manager());
        }
    }

    @Override
    protected LoraConfig withInferenceMode(LoraConfig config, boolean on) {
        return config.toBuilder().inferenceMode(on).build();
    }

    @Override
    protected List<Parameter> extraTrainable(LoraConfig config, String adapter) {
        List<Parameter> out = new ArrayList<>();
        biasParameters(config, adapter).forEach(p -> out.add(p.parameter()));
        return out;
    }

    @Override
    protected Map<String, Tensor> extraState(LoraConfig config, String adapter) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        biasParameters(config, adapter).forEach(p -> out.put(p.name(), Tensor.of(p.parameter().getArray())));
        return out;
    }

    /** The biases {@code bias} trains: every bias ({@code all}) or those of the adapter's layers ({@code lora_only}). */
    private List<NamedParameter> biasParameters(LoraConfig c, String adapter) {
        List<NamedParameter> out = new ArrayList<>();
        if (c.bias() == LoraBias.NONE) {
            return out;
        }
        List<String> saved = ModulesToSave.of(model).paths(adapter);
        for (NamedParameter p : model.namedParameters()) {
            if (!p.localName().equals("bias") || ModulesToSave.covers(saved, p.moduleName())) {
                continue;
            }
            if (c.bias() == LoraBias.ALL) {
                out.add(p);
            } else if (p.moduleName().endsWith("." + AdapterLayer.BASE_LAYER)) {
                Module m = model.module(p.moduleName().substring(0, p.moduleName().lastIndexOf('.')));
                if (m instanceof LoraLayer && ((LoraLayer) m).hasAdapter(adapter)) {
                    out.add(p);
                }
            }
        }
        return out;
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
        for (LoraLayer l : layers().values()) {
            if (l instanceof LoraLinear) {
                ((LoraLinear) l).dequantizeBase(model.manager());
            }
        }
        mergeAndUnload();
        ModelQuantizer.dequantizeAll(model);
        return model;
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
        checkNewAdapterName(name);
        Set<Integer> ranks = new LinkedHashSet<>();
        for (String n : names) {
            if (config(n).useDora()) {
                throw new IllegalArgumentException("addWeightedAdapter: adapter '" + n + "' uses DoRA, which cannot be combined");
            }
            if (!ModulesToSave.of(model).paths(n).isEmpty()) {
                throw new IllegalArgumentException("addWeightedAdapter: adapter '" + n + "' has modules_to_save "
                        + ModulesToSave.of(model).paths(n) + "; HF PEFT refuses to combine those too");
            }
            layers().values().stream().filter(l -> l.hasAdapter(n)).forEach(l -> ranks.add(l.settings(n).r()));
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
        layers.forEach((path, l) -> {
            int r = 0;
            for (String n : names) {
                if (l.hasAdapter(n)) {
                    r = combination == Combination.LINEAR ? l.settings(n).r() : r + l.settings(n).r();
                }
            }
            if (r > 0) {
                combinedRanks.put(path, r);
            }
        });
        int maxRank = combinedRanks.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        LoraConfig.Builder b = config(names.get(0)).toBuilder().r(maxRank).loraAlpha(maxRank).useRslora(false)
                .targetModules(combinedRanks.keySet().toArray(new String[0])).initLoraWeights(InitLoraWeights.DEFAULT);
        combinedRanks.forEach((t, r) -> {
            if (r != maxRank) {
                b.rankPattern(t, r).alphaPattern(t, r);
            }
        });
        LoraPlan plan = LoraPlan.of(model, b.build());
        injectPlan(plan, name);
        for (String t : combinedRanks.keySet()) {
            layers.get(t).setCombined(name, names, weights, combination);
        }
        register(name, plan.config);
    }

    /**
     * Adds adapter {@code name} from tensors keyed as HF PEFT saves them. Every key, shape and dtype
     * is checked against what the config makes of this model before anything changes; a config that
     * records a quantized base quantizes a float base first (see {@link QLora}).
     */
    @Override
    public void loadAdapter(LoraConfig config, Map<String, Tensor> tensors, String name) {
        checkNewAdapterName(name);
        LoraPlan plan = LoraPlan.of(model, config);
        Map<String, long[]> expected = new LinkedHashMap<>();
        plan.adapterTensorShapes().forEach((k, v) -> expected.put(HfKeys.saved(k), v));
        ModulesToSave.shapes(model, plan.modulesToSave).forEach((k, v) -> expected.put(HfKeys.saved(k), v));
        Map<String, NamedParameter> biases = savedBiases(plan);
        biases.forEach((k, p) -> expected.put(k, p.parameter().getShape().getShape()));
        Map<String, Tensor> given = normalizeBiasKeys(tensors, expected.keySet());
        AdapterTensors.check(model, expected, given, "LoRA adapter '" + name + "'", config.baseModelNameOrPath());
        plan = QLora.quantizeIfRecorded(model, plan);
        injectPlan(plan, name);
        ModulesToSave.of(model).add(model, name, plan.modulesToSave);
        for (Map.Entry<String, Tensor> e : given.entrySet()) {
            String key = e.getKey();
            NDArray array = e.getValue().toFloat32NDArray(model.manager());
            if (biases.containsKey(key)) {
                NamedParameter p = model.parameter(HfKeys.treeName(key));
                p.module().setParameterArray(p.localName(), array);
            } else if (!setAdapterTensor(key, array, name)) {
                ModulesToSave.of(model).set(model, name, HfKeys.treeName(key), array);
            }
        }
        register(name, config);
    }

    /** The biases a {@code bias != none} adapter saves, by saved key (a wrapped layer's as {@code <layer>.base_layer.bias}). */
    private Map<String, NamedParameter> savedBiases(LoraPlan plan) {
        Map<String, NamedParameter> out = new LinkedHashMap<>();
        if (plan.config.bias() == LoraBias.NONE) {
            return out;
        }
        Set<String> targetNames = new LinkedHashSet<>();
        plan.targets.forEach(t -> targetNames.add(t.name));
        for (NamedParameter p : model.namedParameters()) {
            if (!p.localName().equals("bias") || ModulesToSave.covers(plan.modulesToSave, p.moduleName())) {
                continue;
            }
            boolean target = targetNames.contains(p.moduleName());
            boolean wrapped = p.moduleName().endsWith("." + AdapterLayer.BASE_LAYER)
                    && targetNames.contains(p.moduleName().substring(0, p.moduleName().lastIndexOf('.')));
            if (plan.config.bias() == LoraBias.ALL || target || wrapped) {
                String key = target ? p.moduleName() + "." + AdapterLayer.BASE_LAYER + ".bias" : p.name();
                out.put(HfKeys.saved(key), p);
            }
        }
        return out;
    }

    /** Older HF PEFT versions saved a wrapped layer's bias without {@code base_layer}; accept both. */
    private static Map<String, Tensor> normalizeBiasKeys(Map<String, Tensor> tensors, Set<String> expected) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String k = e.getKey();
            if (!expected.contains(k) && k.endsWith(".bias")) {
                String withBase = k.substring(0, k.length() - ".bias".length()) + "." + AdapterLayer.BASE_LAYER + ".bias";
                if (expected.contains(withBase)) {
                    k = withBase;
                }
            }
            out.put(k, e.getValue());
        }
        return out;
    }
}

package io.peft4j.core.model.gpt2;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.AdapterKeyMapping;
import io.peft4j.core.model.LayerRoles;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.model.TiedWeights;
import io.peft4j.core.model.TransformerLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * GPT-2 ({@code model_type} {@code gpt2}, {@code GPT2LMHeadModel}): learned positions, pre-LayerNorm
 * blocks under {@code transformer.h}, {@code Conv1D} projections ({@code [in, out]} weights) and a head
 * tied to {@code transformer.wte}. Default targets are HF PEFT's for {@code gpt2}: {@code c_attn} for
 * LoRA and the methods whose mapping copies LoRA's; {@code c_attn} and {@code mlp.c_proj} for IA3.
 */
public final class Gpt2Family implements ModelFamily {
    /** HF PEFT methods whose gpt2 default is LoRA's {@code ["c_attn"]}. */
    private static final Set<String> C_ATTN_METHODS = Set.of("LORA", "BOFT", "BONE", "C3A", "HRA", "LOHA",
            "LOKR", "MISS", "OFT", "POLY", "RANDLORA", "ROAD", "FOURIERFT", "SHIRA", "VERA", "VBLORA", "WAVEFT");
    /** HF PEFT's IA3 targets for {@code gpt2}; {@code mlp.c_proj} is the feed-forward one. */
    private static final List<String> IA3_TARGETS = List.of("c_attn", "mlp.c_proj");
    private static final List<String> IA3_FEEDFORWARD = List.of("mlp.c_proj");

    @Override
    public String name() {
        return "gpt2";
    }

    @Override
    public List<String> modelTypes() {
        return List.of(Gpt2Config.MODEL_TYPE);
    }

    @Override
    public List<String> architectures() {
        return List.of(Gpt2Config.ARCHITECTURE, "GPT2Model");
    }

    @Override
    public Gpt2Config parseConfig(Path configJson) throws IOException {
        return Gpt2Config.fromJson(configJson);
    }

    /** The causal LM ({@code transformer} + {@code lm_head}): a decoder is fine-tuned and saved as one. */
    @Override
    public Module buildBaseModule(ModelConfig config) {
        return new GPT2LMHeadModel(gpt2Config(config));
    }

    @Override
    public PeftModel loadBaseModel(Path dir, String baseModelName) throws IOException {
        return Gpt2.causalLm(dir, baseModelName);
    }

    @Override
    public String baseAttribute(ModelConfig config) {
        return "transformer";
    }

    /** The checkpoint's tensors under {@code GPT2LMHeadModel} names: bare keys prefixed, mask buffers left out. */
    @Override
    public Map<String, Tensor> baseModelTensors(ModelConfig config, Map<String, Tensor> checkpointTensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        checkpointTensors.forEach((k, v) -> {
            if (!Gpt2Checkpoint.isBuffer(k)) {
                out.put(Gpt2Checkpoint.canonicalName(k), v);
            }
        });
        return out;
    }

    @Override
    public String basePath(ModuleTree model) {
        return ModelFamily.pathOf(model, Gpt2Model.class, "GPT-2");
    }

    @Override
    public String layersPattern() {
        return "h";
    }

    @Override
    public List<TransformerLayer> layers(ModuleTree model) {
        return ModelFamily.layersAt(model, ModelFamily.join(basePath(model), "h"));
    }

    /** The fused {@code c_attn} (query, key and value in one Conv1D) is one attention module beside {@code c_proj}. */
    @Override
    public LayerRoles layerRoles(ModuleTree model, TransformerLayer layer) {
        return LayerRoles.relative(layer, List.of("attn.c_attn", "attn.c_proj"), List.of("mlp.c_fc", "mlp.c_proj"),
                List.of("ln_1", "ln_2"));
    }

    /** The token embeddings {@code wte} first, then the position embeddings {@code wpe}. */
    @Override
    public List<String> embeddings(ModuleTree model) {
        String base = basePath(model);
        return List.of(ModelFamily.join(base, "wte"), ModelFamily.join(base, "wpe"));
    }

    /** {@code lm_head.weight} is {@code transformer.wte.weight} when tied; merged with what the tree shares. */
    @Override
    public List<TiedWeights> tiedWeights(ModuleTree model) {
        List<TiedWeights> declared = new ArrayList<>();
        if (model.root() instanceof GPT2LMHeadModel && ((GPT2LMHeadModel) model.root()).config().tieWordEmbeddings()
                && model.hasModule("lm_head")) {
            declared.add(TiedWeights.of("transformer.wte.weight", "lm_head.weight"));
        }
        return TiedWeights.merge(declared, TiedWeights.detect(model));
    }

    @Override
    public List<String> defaultTargetModules(String peftType) {
        String type = peftType.toUpperCase(Locale.ROOT);
        if (C_ATTN_METHODS.contains(type)) {
            return List.of("c_attn");
        }
        if ("IA3".equals(type)) {
            return IA3_TARGETS;
        }
        throw new IllegalArgumentException("No default target_modules for peft_type '" + peftType + "' on the "
                + name() + " family " + modelTypes() + ": set target_modules in the config");
    }

    @Override
    public List<String> defaultFeedforwardModules(String peftType) {
        return "IA3".equalsIgnoreCase(peftType) ? IA3_FEEDFORWARD : List.of();
    }

    @Override
    public AdapterKeyMapping adapterKeyMapping(ModuleTree target, Set<String> savedModulePaths) {
        return AdapterKeyMapping.resolve(target, basePath(target), Set.of("transformer"), savedModulePaths, layersPattern(),
                layers(target).size());
    }

    private static Gpt2Config gpt2Config(ModelConfig config) {
        if (!(config instanceof Gpt2Config)) {
            throw new IllegalArgumentException("The gpt2 family builds from a Gpt2Config, got "
                    + (config == null ? "null" : config.getClass().getSimpleName() + " for model_type '" + config.modelType() + "'"));
        }
        return (Gpt2Config) config;
    }

}

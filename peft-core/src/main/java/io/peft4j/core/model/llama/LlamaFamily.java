package io.peft4j.core.model.llama;

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
 * Llama and the decoders with its module tree: Mistral (sliding window), Qwen2 (q/k/v biases), and
 * SmolLM/TinyLlama-style checkpoints. Default LoRA targets are HF PEFT's for {@code llama},
 * {@code mistral} and {@code qwen2}, which agree: {@code q_proj}, {@code v_proj}.
 */
public final class LlamaFamily implements ModelFamily {
    /** HF PEFT methods whose llama/mistral/qwen2 default is LoRA's {@code ["q_proj", "v_proj"]}. */
    private static final Set<String> Q_V_METHODS = Set.of("LORA", "BOFT", "BONE", "C3A", "HRA", "LOHA",
            "LOKR", "MISS", "OFT", "POLY", "RANDLORA", "ROAD", "FOURIERFT", "SHIRA", "VERA", "VBLORA", "WAVEFT");
    /** HF PEFT's IA3 targets for {@code llama}; {@code down_proj} is the feed-forward one. */
    private static final List<String> IA3_TARGETS = List.of("k_proj", "v_proj", "down_proj");
    private static final List<String> IA3_FEEDFORWARD = List.of("down_proj");

    @Override
    public String name() {
        return "llama";
    }

    @Override
    public List<String> modelTypes() {
        return LlamaConfig.MODEL_TYPES;
    }

    @Override
    public List<String> architectures() {
        return List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "LlamaModel", "MistralModel", "Qwen2Model");
    }

    @Override
    public LlamaConfig parseConfig(Path configJson) throws IOException {
        return LlamaConfig.fromJson(configJson);
    }

    /** The causal LM ({@code model} + {@code lm_head}): a decoder is fine-tuned and saved as one, keys under {@code model.}. */
    @Override
    public Module buildBaseModule(ModelConfig config) {
        return new LlamaForCausalLM(llamaConfig(config));
    }

    @Override
    public PeftModel loadBaseModel(Path dir, String baseModelName) throws IOException {
        return Llama.causalLm(dir, baseModelName);
    }

    @Override
    public String baseAttribute(ModelConfig config) {
        return "model";
    }

    /** The checkpoint's tensors as {@code LlamaForCausalLM} names them: they already are. */
    @Override
    public Map<String, Tensor> baseModelTensors(ModelConfig config, Map<String, Tensor> checkpointTensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        checkpointTensors.forEach((k, v) -> {
            if (!k.endsWith("rotary_emb.inv_freq")) {
                out.put(k, v);
            }
        });
        return out;
    }

    @Override
    public String basePath(ModuleTree model) {
        return ModelFamily.pathOf(model, LlamaModel.class, "Llama-family");
    }

    @Override
    public String layersPattern() {
        return "layers";
    }

    @Override
    public List<TransformerLayer> layers(ModuleTree model) {
        return ModelFamily.layersAt(model, ModelFamily.join(basePath(model), "layers"));
    }

    @Override
    public LayerRoles layerRoles(ModuleTree model, TransformerLayer layer) {
        return LayerRoles.relative(layer,
                List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"),
                List.of("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"),
                List.of("input_layernorm", "post_attention_layernorm"));
    }

    @Override
    public List<String> embeddings(ModuleTree model) {
        return List.of(ModelFamily.join(basePath(model), "embed_tokens"));
    }

    /** {@code lm_head.weight} is {@code model.embed_tokens.weight} when tied; merged with what the tree shares. */
    @Override
    public List<TiedWeights> tiedWeights(ModuleTree model) {
        List<TiedWeights> declared = new ArrayList<>();
        if (model.root() instanceof LlamaForCausalLM && ((LlamaForCausalLM) model.root()).config().tieWordEmbeddings()
                && model.hasModule("lm_head")) {
            declared.add(TiedWeights.of("model.embed_tokens.weight", "lm_head.weight"));
        }
        return TiedWeights.merge(declared, TiedWeights.detect(model));
    }

    @Override
    public List<String> defaultTargetModules(String peftType) {
        String type = peftType.toUpperCase(Locale.ROOT);
        if (Q_V_METHODS.contains(type)) {
            return List.of("q_proj", "v_proj");
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
        return AdapterKeyMapping.resolve(target, basePath(target), Set.of("model"), savedModulePaths, layersPattern(),
                layers(target).size());
    }

    private static LlamaConfig llamaConfig(ModelConfig config) {
        if (!(config instanceof LlamaConfig)) {
            throw new IllegalArgumentException("The llama family builds from a LlamaConfig, got "
                    + (config == null ? "null" : config.getClass().getSimpleName() + " for model_type '" + config.modelType() + "'"));
        }
        return (LlamaConfig) config;
    }

}

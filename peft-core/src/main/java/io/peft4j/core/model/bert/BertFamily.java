package io.peft4j.core.model.bert;

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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * BERT and the encoders with its module tree (RoBERTa, XLM-RoBERTa; see {@link BertVariant}). Default
 * target modules are HF PEFT's for {@code bert} and {@code roberta}, which agree.
 */
public final class BertFamily implements ModelFamily {
    /**
     * HF PEFT methods whose default targets are LoRA's ({@code constants.py} copies
     * {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING} for them) and whose BERT entry is
     * {@code ["query", "value"]}, as it is for VB-LoRA.
     */
    private static final Set<String> QUERY_VALUE_METHODS = Set.of("LORA", "BOFT", "BONE", "C3A", "HRA", "LOHA",
            "LOKR", "MISS", "OFT", "POLY", "RANDLORA", "ROAD", "FOURIERFT", "SHIRA", "VERA", "VBLORA", "WAVEFT");
    /** HF PEFT's IA3 targets for {@code bert} and {@code roberta}. */
    private static final List<String> IA3_TARGETS = List.of("key", "value", "output.dense");
    /** Of those, the feed-forward output ({@code encoder.layer.N.output.dense} matches too: HF PEFT's suffix rule). */
    private static final List<String> IA3_FEEDFORWARD = List.of("output.dense");

    @Override
    public String name() {
        return "bert";
    }

    @Override
    public List<String> modelTypes() {
        return BertVariant.modelTypes();
    }

    @Override
    public List<String> architectures() {
        List<String> out = new ArrayList<>();
        for (BertVariant v : BertVariant.values()) {
            out.add(v.baseArchitecture());
            out.addAll(v.taskArchitectures());
        }
        return out;
    }

    @Override
    public BertConfig parseConfig(Path configJson) throws IOException {
        return BertConfig.fromJson(configJson);
    }

    @Override
    public Module buildBaseModule(ModelConfig config) {
        return new BertModel(bertConfig(config), true);
    }

    @Override
    public PeftModel loadBaseModel(Path dir, String baseModelName) throws IOException {
        return Bert.encoder(BertCheckpoint.readHfDirectory(dir), baseModelName);
    }

    @Override
    public String baseAttribute(ModelConfig config) {
        return bertConfig(config).variant().baseAttribute();
    }

    @Override
    public Map<String, Tensor> baseModelTensors(ModelConfig config, Map<String, Tensor> checkpointTensors) {
        return BertCheckpoint.baseModelTensors(bertConfig(config), checkpointTensors, "checkpoint");
    }

    @Override
    public String basePath(ModuleTree model) {
        return ModelFamily.pathOf(model, BertModel.class, "BERT-family");
    }

    @Override
    public String layersPattern() {
        return "layer";
    }

    @Override
    public List<TransformerLayer> layers(ModuleTree model) {
        return ModelFamily.layersAt(model, ModelFamily.join(basePath(model), "encoder.layer"));
    }

    /** Self-attention query, key, value and output dense; intermediate and output dense; the two LayerNorms. */
    @Override
    public LayerRoles layerRoles(ModuleTree model, TransformerLayer layer) {
        return LayerRoles.relative(layer,
                List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"),
                List.of("intermediate.dense", "output.dense"),
                List.of("attention.output.LayerNorm", "output.LayerNorm"));
    }

    @Override
    public List<String> embeddings(ModuleTree model) {
        String e = ModelFamily.join(basePath(model), "embeddings");
        return List.of(e + ".word_embeddings", e + ".position_embeddings", e + ".token_type_embeddings");
    }

    /** BERT ties nothing in the models peft4j builds (the MLM head, which ties its decoder, is not built). */
    @Override
    public List<TiedWeights> tiedWeights(ModuleTree model) {
        return TiedWeights.merge(List.of(), TiedWeights.detect(model));
    }

    @Override
    public List<String> defaultTargetModules(String peftType) {
        String type = peftType.toUpperCase(Locale.ROOT);
        if (QUERY_VALUE_METHODS.contains(type)) {
            return List.of("query", "value");
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
        Set<String> attributes = new LinkedHashSet<>();
        for (BertVariant v : BertVariant.values()) {
            attributes.add(v.baseAttribute());
        }
        return AdapterKeyMapping.resolve(target, basePath(target), attributes, savedModulePaths, layersPattern(),
                layers(target).size());
    }

    private static BertConfig bertConfig(ModelConfig config) {
        if (!(config instanceof BertConfig)) {
            throw new IllegalArgumentException("The bert family builds from a BertConfig, got "
                    + (config == null ? "null" : config.getClass().getSimpleName() + " for model_type '" + config.modelType() + "'"));
        }
        return (BertConfig) config;
    }

}

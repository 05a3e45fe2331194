package io.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The hyper-parameters of a Llama-architecture decoder (transformers' {@code LlamaConfig}, and the
 * {@code MistralConfig} and {@code Qwen2Config} fields the same code reads), named as in {@code config.json}.
 */
public final class LlamaConfig implements ModelConfig {
    /** The {@code model_type} values this config reads; their architectures differ only in the flags below. */
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");

    private final String modelType;
    private final int vocabSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final float rmsNormEps;
    private final float ropeTheta;
    private final RopeScaling ropeScaling;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;
    private final boolean attentionBias;
    private final boolean mlpBias;
    private final boolean qkvBias;
    private final Integer slidingWindow;
    private final Integer maxWindowLayers;
    private final List<String> layerTypes;
    private final boolean[] slidingLayers;
    private final Integer bosTokenId;
    private final List<Integer> eosTokenIds;

    private LlamaConfig(Builder b) {
        this.modelType = b.modelType;
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.intermediateSize = b.intermediateSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.numKeyValueHeads = b.numKeyValueHeads == null ? b.numAttentionHeads : b.numKeyValueHeads;
        this.headDim = b.headDim == null ? (b.numAttentionHeads > 0 ? b.hiddenSize / b.numAttentionHeads : 0) : b.headDim;
        this.rmsNormEps = b.rmsNormEps;
        this.ropeTheta = b.ropeTheta;
        this.ropeScaling = b.ropeScaling;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.attentionBias = b.attentionBias;
        this.mlpBias = b.mlpBias;
        this.qkvBias = b.qkvBias;
        this.slidingWindow = b.slidingWindow;
        this.maxWindowLayers = b.maxWindowLayers;
        this.layerTypes = b.layerTypes == null ? null : List.copyOf(b.layerTypes);
        this.bosTokenId = b.bosTokenId;
        this.eosTokenIds = b.eosTokenIds == null ? List.of() : List.copyOf(b.eosTokenIds);
        if (!MODEL_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("model_type '" + modelType + "' is not one of " + MODEL_TYPES);
        }
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        io.peft4j.core.model.ModelBounds.range("num_hidden_layers", numHiddenLayers, 1, io.peft4j.core.model.ModelBounds.MAX_LAYERS);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " must be a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + headDim + " must be positive and even (rotary embeddings rotate halves)"
                    + (b.headDim == null ? "; it is hidden_size / num_attention_heads when config.json has none" : ""));
        }
        if (!(rmsNormEps > 0)) {
            throw new IllegalArgumentException("rms_norm_eps must be > 0, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0)) {
            throw new IllegalArgumentException("rope_theta must be > 0, got " + ropeTheta);
        }
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (slidingWindow != null && slidingWindow <= 0) {
            throw new IllegalArgumentException("sliding_window must be > 0 or null, got " + slidingWindow);
        }
        this.slidingLayers = slidingLayers();
    }

    /**
     * Which layers attend through the window, as transformers derives {@code layer_types}: every layer of
     * Mistral; for Qwen2 the layers from {@code max_window_layers} on; or {@code layer_types} where given.
     */
    private boolean[] slidingLayers() {
        boolean[] sliding = new boolean[numHiddenLayers];
        if (layerTypes != null) {
            if (layerTypes.size() != numHiddenLayers) {
                throw new IllegalArgumentException("layer_types has " + layerTypes.size() + " entries for num_hidden_layers "
                        + numHiddenLayers);
            }
            for (int i = 0; i < numHiddenLayers; i++) {
                String type = layerTypes.get(i);
                if (!"sliding_attention".equals(type) && !"full_attention".equals(type)) {
                    throw new IllegalArgumentException("layer_types[" + i + "] is '" + type
                            + "'; expected 'sliding_attention' or 'full_attention'");
                }
                sliding[i] = slidingWindow != null && "sliding_attention".equals(type);
            }
            return sliding;
        }
        if (maxWindowLayers != null && maxWindowLayers < 0) {
            throw new IllegalArgumentException("max_window_layers must be >= 0, got " + maxWindowLayers);
        }
        for (int i = 0; i < numHiddenLayers; i++) {
            sliding[i] = slidingWindow != null && (maxWindowLayers == null || i >= maxWindowLayers);
        }
        return sliding;
    }

    private static void positive(String field, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, got " + v);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads transformers' {@code config.json} strictly: a field of the wrong JSON type, an unknown
     * {@code model_type}, an activation other than SiLU or an unknown {@code rope_scaling} type is an
     * error naming the file and the field. Absent fields take transformers' {@code LlamaConfig} defaults.
     */
    public static LlamaConfig fromJson(Path configJson) throws IOException {
        JsonNode n = ConfigJson.readObject(configJson);
        try {
            ConfigJson f = ConfigJson.of(n, configJson.toString());
            String type = f.text("model_type");
            if (type == null) {
                throw new IllegalArgumentException("no model_type; expected one of " + MODEL_TYPES);
            }
            Builder b = builder().modelType(type);
            String act = f.text("hidden_act");
            if (act != null && !"silu".equals(act)) {
                throw new IllegalArgumentException("hidden_act '" + act + "' is not supported; the Llama family uses 'silu'");
            }
            b.vocabSize(f.intField("vocab_size", b.vocabSize))
                    .hiddenSize(f.intField("hidden_size", b.hiddenSize))
                    .intermediateSize(f.intField("intermediate_size", b.intermediateSize))
                    .numHiddenLayers(f.intField("num_hidden_layers", b.numHiddenLayers))
                    .numAttentionHeads(f.intField("num_attention_heads", b.numAttentionHeads))
                    .rmsNormEps(f.floatField("rms_norm_eps", b.rmsNormEps))
                    .ropeTheta(f.floatField("rope_theta", b.ropeTheta))
                    .maxPositionEmbeddings(f.intField("max_position_embeddings", b.maxPositionEmbeddings))
                    .tieWordEmbeddings(f.boolField("tie_word_embeddings", b.tieWordEmbeddings))
                    .attentionBias(f.boolField("attention_bias", false))
                    .mlpBias(f.boolField("mlp_bias", false))
                    .ropeScaling(RopeScaling.fromJson(n.get("rope_scaling"), configJson.toString()));
            if (f.has("num_key_value_heads")) {
                b.numKeyValueHeads(f.intField("num_key_value_heads", 0));
            }
            if (f.has("head_dim")) {
                b.headDim(f.intField("head_dim", 0));
            }
            if (f.has("bos_token_id")) {
                b.bosTokenId(f.intField("bos_token_id", 0));
            }
            b.eosTokenIds(f.intOrList("eos_token_id"));
            // Qwen2 always has q/k/v biases (and none on o_proj); Mistral and Qwen2 may slide their window.
            b.qkvBias("qwen2".equals(type));
            boolean sliding = "mistral".equals(type) || ("qwen2".equals(type) && f.boolField("use_sliding_window", false));
            if (sliding && f.has("sliding_window")) {
                b.slidingWindow(f.intField("sliding_window", 0));
            }
            if ("qwen2".equals(type)) {
                // transformers' Qwen2Config default: the window applies from layer 28 on.
                b.maxWindowLayers(f.intField("max_window_layers", 28));
            }
            JsonNode types = n.get("layer_types");
            if (types != null && !types.isNull()) {
                if (!types.isArray()) {
                    throw new IllegalArgumentException("layer_types must be a list of strings, got " + types);
                }
                List<String> list = new java.util.ArrayList<>();
                types.forEach(t -> list.add(t.asText()));
                b.layerTypes(list);
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(architecture());
        n.put("model_type", modelType);
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_key_value_heads", numKeyValueHeads);
        n.put("head_dim", headDim);
        n.put("hidden_act", "silu");
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            n.putNull("rope_scaling");
        } else {
            n.set("rope_scaling", ropeScaling.toJson());
        }
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("tie_word_embeddings", tieWordEmbeddings);
        if (!"qwen2".equals(modelType)) {
            n.put("attention_bias", attentionBias);
            n.put("mlp_bias", mlpBias);
        }
        if (slidingWindow != null) {
            n.put("sliding_window", slidingWindow);
            if ("qwen2".equals(modelType)) {
                n.put("use_sliding_window", true);
            }
        }
        if (maxWindowLayers != null) {
            n.put("max_window_layers", maxWindowLayers);
        }
        if (layerTypes != null) {
            layerTypes.forEach(n.withArray("layer_types")::add);
        }
        if (bosTokenId != null) {
            n.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            n.put("eos_token_id", eosTokenIds.get(0));
        } else if (!eosTokenIds.isEmpty()) {
            eosTokenIds.forEach(n.putArray("eos_token_id")::add);
        }
        return n.toPrettyString();
    }

    /** transformers' class name of the causal LM of this {@code model_type}. */
    public String architecture() {
        switch (modelType) {
            case "mistral":
                return "MistralForCausalLM";
            case "qwen2":
                return "Qwen2ForCausalLM";
            default:
                return "LlamaForCausalLM";
        }
    }

    @Override public String modelType() { return modelType; }
    @Override public int vocabSize() { return vocabSize; }
    @Override public int hiddenSize() { return hiddenSize; }
    @Override public int numHiddenLayers() { return numHiddenLayers; }
    public int intermediateSize() { return intermediateSize; }
    public int numAttentionHeads() { return numAttentionHeads; }
    public int numKeyValueHeads() { return numKeyValueHeads; }
    public int headDim() { return headDim; }
    public float rmsNormEps() { return rmsNormEps; }
    public float ropeTheta() { return ropeTheta; }
    /** Null when the config has none. */
    public RopeScaling ropeScaling() { return ropeScaling; }
    public int maxPositionEmbeddings() { return maxPositionEmbeddings; }
    public boolean tieWordEmbeddings() { return tieWordEmbeddings; }
    /** Bias on all four attention projections ({@code attention_bias}). */
    public boolean attentionBias() { return attentionBias; }
    public boolean mlpBias() { return mlpBias; }
    /** Bias on q/k/v (not o): Qwen2's layout, or {@code attention_bias}. */
    public boolean qkvBias() { return qkvBias || attentionBias; }
    /** The attention window of Mistral (or Qwen2 with {@code use_sliding_window}); null when every key is seen. */
    public Integer slidingWindow() { return slidingWindow; }
    /** Qwen2's {@code max_window_layers}: layers below it attend to every key; null (Mistral) when every layer slides. */
    public Integer maxWindowLayers() { return maxWindowLayers; }
    /** The window layer {@code layer} attends through ({@code q - window < k <= q}), or null when it sees every earlier key. */
    public Integer slidingWindow(int layer) { return slidingLayers[layer] ? slidingWindow : null; }
    public Integer bosTokenId() { return bosTokenId; }
    /** One or several ids ({@code eos_token_id} may be a list); empty when the config has none. */
    public List<Integer> eosTokenIds() { return eosTokenIds; }

    @Override
    public String toString() {
        return "LlamaConfig(" + modelType + ", vocab=" + vocabSize + ", hidden=" + hiddenSize + ", layers=" + numHiddenLayers
                + ", heads=" + numAttentionHeads + "/" + numKeyValueHeads + " kv, head_dim=" + headDim + ")";
    }

    /** Defaults are transformers' {@code LlamaConfig}'s. */
    public static final class Builder {
        private String modelType = "llama";
        private int vocabSize = 32000;
        private int hiddenSize = 4096;
        private int intermediateSize = 11008;
        private int numHiddenLayers = 32;
        private int numAttentionHeads = 32;
        private Integer numKeyValueHeads;
        private Integer headDim;
        private float rmsNormEps = 1e-6f;
        private float ropeTheta = 10000f;
        private RopeScaling ropeScaling;
        private int maxPositionEmbeddings = 2048;
        private boolean tieWordEmbeddings;
        private boolean attentionBias;
        private boolean mlpBias;
        private boolean qkvBias;
        private Integer slidingWindow;
        private Integer maxWindowLayers;
        private List<String> layerTypes;
        private Integer bosTokenId;
        private List<Integer> eosTokenIds;

        public Builder modelType(String v) { modelType = Objects.requireNonNull(v, "model_type"); return this; }
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder numHiddenLayers(int v) { numHiddenLayers = v; return this; }
        public Builder numAttentionHeads(int v) { numAttentionHeads = v; return this; }
        public Builder numKeyValueHeads(int v) { numKeyValueHeads = v; return this; }
        public Builder headDim(int v) { headDim = v; return this; }
        public Builder rmsNormEps(float v) { rmsNormEps = v; return this; }
        public Builder ropeTheta(float v) { ropeTheta = v; return this; }
        public Builder ropeScaling(RopeScaling v) { ropeScaling = v; return this; }
        public Builder maxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder attentionBias(boolean v) { attentionBias = v; return this; }
        public Builder mlpBias(boolean v) { mlpBias = v; return this; }
        /** Qwen2's q/k/v biases. */
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder slidingWindow(Integer v) { slidingWindow = v; return this; }
        /** Qwen2: the first layer that uses the window; null: every layer does (Mistral). */
        public Builder maxWindowLayers(Integer v) { maxWindowLayers = v; return this; }
        /** transformers' {@code layer_types} ({@code sliding_attention} / {@code full_attention} per layer); overrides {@code maxWindowLayers}. */
        public Builder layerTypes(List<String> v) { layerTypes = v; return this; }
        public Builder bosTokenId(Integer v) { bosTokenId = v; return this; }
        public Builder eosTokenIds(List<Integer> v) { eosTokenIds = v; return this; }

        public LlamaConfig build() {
            return new LlamaConfig(this);
        }
    }
}

package io.peft4j.core.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.model.ModelBounds;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The hyper-parameters of a BERT-family encoder, named as in transformers' {@code config.json}, with
 * the {@link BertVariant} its {@code model_type} names.
 */
public final class BertConfig implements ModelConfig {
    private final BertVariant variant;
    private final int padTokenId;
    private final int vocabSize;
    private final int hiddenSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int intermediateSize;
    private final int maxPositionEmbeddings;
    private final int typeVocabSize;
    private final float layerNormEps;
    private final float hiddenDropoutProb;
    private final float attentionProbsDropoutProb;
    private final String hiddenAct;

    private BertConfig(Builder b) {
        this.variant = b.variant;
        this.padTokenId = b.padTokenId == null ? b.variant.defaultPadTokenId() : b.padTokenId;
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.intermediateSize = b.intermediateSize;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.typeVocabSize = b.typeVocabSize;
        this.layerNormEps = b.layerNormEps;
        this.hiddenDropoutProb = b.hiddenDropoutProb;
        this.attentionProbsDropoutProb = b.attentionProbsDropoutProb;
        this.hiddenAct = b.hiddenAct;
        ModelBounds.check(vocabSize, hiddenSize, numHiddenLayers, intermediateSize, maxPositionEmbeddings);
        ModelBounds.positive("type_vocab_size", typeVocabSize);
        ModelBounds.epsilon("layer_norm_eps", layerNormEps);
        ModelBounds.probability("hidden_dropout_prob", hiddenDropoutProb);
        ModelBounds.probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
        if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize
                    + " must be a positive multiple of num_attention_heads " + numAttentionHeads);
        }
        if (!"gelu".equals(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act '" + hiddenAct + "' is not supported; peft4j's BERT uses 'gelu'");
        }
        if (padTokenId < 0 || padTokenId >= vocabSize) {
            throw new IllegalArgumentException("pad_token_id " + padTokenId + " is not a token id of vocab_size " + vocabSize);
        }
        if (variant.positionsAfterPadding() && padTokenId + 1 >= maxPositionEmbeddings) {
            throw new IllegalArgumentException("max_position_embeddings " + maxPositionEmbeddings + " leaves no position "
                    + "after pad_token_id " + padTokenId + " (" + variant.modelType() + " positions start at pad_token_id + 1)");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads transformers' {@code config.json}; absent fields take BERT's defaults, a field of the wrong
     * JSON type is an error naming it.
     */
    public static BertConfig fromJson(Path configJson) throws IOException {
        JsonNode n = ConfigJson.readObject(configJson);
        Builder b = builder();
        try {
            ConfigJson f = ConfigJson.of(n, "BertConfig");
            // Bounded before anything is built: num_hidden_layers = 10^9 would build layers until memory runs out.
            String type = f.text("model_type");
            b.variant(BertVariant.forModelType(type == null ? BertVariant.BERT.modelType() : type));
            if (f.has("pad_token_id")) {
                b.padTokenId(f.intField("pad_token_id", 0));
            }
            String act = f.text("hidden_act");
            b.vocabSize(f.intField("vocab_size", b.vocabSize))
                    .hiddenSize(f.intField("hidden_size", b.hiddenSize))
                    .numHiddenLayers(f.intField("num_hidden_layers", b.numHiddenLayers, 1, ModelBounds.MAX_LAYERS))
                    .numAttentionHeads(f.intField("num_attention_heads", b.numAttentionHeads))
                    .intermediateSize(f.intField("intermediate_size", b.intermediateSize))
                    .maxPositionEmbeddings(f.intField("max_position_embeddings", b.maxPositionEmbeddings))
                    .typeVocabSize(f.intField("type_vocab_size", b.typeVocabSize))
                    .layerNormEps(f.floatField("layer_norm_eps", b.layerNormEps))
                    .hiddenDropoutProb(f.floatField("hidden_dropout_prob", b.hiddenDropoutProb))
                    .attentionProbsDropoutProb(f.floatField("attention_probs_dropout_prob", b.attentionProbsDropoutProb))
                    .hiddenAct(act == null ? b.hiddenAct : act);
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** The config as transformers writes it, for saving a checkpoint directory. */
    @Override
    public String toJson() {
        com.fasterxml.jackson.databind.node.ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(variant.baseArchitecture());
        n.put("model_type", variant.modelType());
        n.put("pad_token_id", padTokenId);
        n.put("vocab_size", vocabSize);
        n.put("hidden_size", hiddenSize);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("intermediate_size", intermediateSize);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("type_vocab_size", typeVocabSize);
        n.put("layer_norm_eps", layerNormEps);
        n.put("hidden_dropout_prob", hiddenDropoutProb);
        n.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        n.put("hidden_act", hiddenAct);
        return n.toPrettyString();
    }

    public BertVariant variant() { return variant; }
    @Override public String modelType() { return variant.modelType(); }
    public int padTokenId() { return padTokenId; }
    @Override public int vocabSize() { return vocabSize; }
    @Override public int hiddenSize() { return hiddenSize; }
    @Override public int numHiddenLayers() { return numHiddenLayers; }
    public int numAttentionHeads() { return numAttentionHeads; }
    public int headDim() { return hiddenSize / numAttentionHeads; }
    public int intermediateSize() { return intermediateSize; }
    public int maxPositionEmbeddings() { return maxPositionEmbeddings; }
    public int typeVocabSize() { return typeVocabSize; }
    public float layerNormEps() { return layerNormEps; }
    public float hiddenDropoutProb() { return hiddenDropoutProb; }
    public float attentionProbsDropoutProb() { return attentionProbsDropoutProb; }
    public String hiddenAct() { return hiddenAct; }

    public Builder toBuilder() {
        return builder().variant(variant).padTokenId(padTokenId).vocabSize(vocabSize).hiddenSize(hiddenSize).numHiddenLayers(numHiddenLayers)
                .numAttentionHeads(numAttentionHeads).intermediateSize(intermediateSize)
                .maxPositionEmbeddings(maxPositionEmbeddings).typeVocabSize(typeVocabSize)
                .layerNormEps(layerNormEps).hiddenDropoutProb(hiddenDropoutProb)
                .attentionProbsDropoutProb(attentionProbsDropoutProb).hiddenAct(hiddenAct);
    }

    @Override
    public String toString() {
        return "BertConfig(" + variant.modelType() + ", vocab=" + vocabSize + ", hidden=" + hiddenSize + ", layers=" + numHiddenLayers
                + ", heads=" + numAttentionHeads + ", intermediate=" + intermediateSize + ")";
    }

    /** Defaults are bert-base-uncased's. */
    public static final class Builder {
        private BertVariant variant = BertVariant.BERT;
        /** Null: the variant's default. */
        private Integer padTokenId;
        private int vocabSize = 30522;
        private int hiddenSize = 768;
        private int numHiddenLayers = 12;
        private int numAttentionHeads = 12;
        private int intermediateSize = 3072;
        private int maxPositionEmbeddings = 512;
        private int typeVocabSize = 2;
        private float layerNormEps = 1e-12f;
        private float hiddenDropoutProb = 0.1f;
        private float attentionProbsDropoutProb = 0.1f;
        private String hiddenAct = "gelu";

        public Builder variant(BertVariant v) { variant = java.util.Objects.requireNonNull(v, "variant"); return this; }
        public Builder padTokenId(int v) { padTokenId = v; return this; }
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder numHiddenLayers(int v) { numHiddenLayers = v; return this; }
        public Builder numAttentionHeads(int v) { numAttentionHeads = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder maxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder typeVocabSize(int v) { typeVocabSize = v; return this; }
        public Builder layerNormEps(float v) { layerNormEps = v; return this; }
        public Builder hiddenDropoutProb(float v) { hiddenDropoutProb = v; return this; }
        public Builder attentionProbsDropoutProb(float v) { attentionProbsDropoutProb = v; return this; }
        public Builder hiddenAct(String v) { hiddenAct = v; return this; }

        public BertConfig build() {
            return new BertConfig(this);
        }
    }
}

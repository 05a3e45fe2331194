package io.peft4j.core.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;

/** The hyper-parameters of a BERT-family encoder, named as in transformers' {@code config.json}. */
public final class BertConfig {
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
        if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize
                    + " must be a positive multiple of num_attention_heads " + numAttentionHeads);
        }
        if (!"gelu".equals(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act '" + hiddenAct + "' is not supported; peft4j's BERT uses 'gelu'");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads transformers' {@code config.json}; absent fields take BERT's defaults. */
    public static BertConfig fromJson(Path configJson) throws IOException {
        JsonNode n = new ObjectMapper().readTree(configJson.toFile());
        Builder b = builder();
        if (n == null || !n.isObject()) {
            throw new IOException(configJson + ": not a JSON object");
        }
        JsonNode type = n.get("model_type");
        if (type != null && !type.asText().equals("bert")) {
            throw new IOException(configJson + ": model_type '" + type.asText() + "' is not a BERT encoder (expected 'bert')");
        }
        b.vocabSize(n.path("vocab_size").asInt(b.vocabSize))
                .hiddenSize(n.path("hidden_size").asInt(b.hiddenSize))
                .numHiddenLayers(n.path("num_hidden_layers").asInt(b.numHiddenLayers))
                .numAttentionHeads(n.path("num_attention_heads").asInt(b.numAttentionHeads))
                .intermediateSize(n.path("intermediate_size").asInt(b.intermediateSize))
                .maxPositionEmbeddings(n.path("max_position_embeddings").asInt(b.maxPositionEmbeddings))
                .typeVocabSize(n.path("type_vocab_size").asInt(b.typeVocabSize))
                .layerNormEps((float) n.path("layer_norm_eps").asDouble(b.layerNormEps))
                .hiddenDropoutProb((float) n.path("hidden_dropout_prob").asDouble(b.hiddenDropoutProb))
                .attentionProbsDropoutProb((float) n.path("attention_probs_dropout_prob").asDouble(b.attentionProbsDropoutProb))
                .hiddenAct(n.path("hidden_act").asText(b.hiddenAct));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** The config as transformers writes it, for saving a checkpoint directory. */
    public String toJson() {
        com.fasterxml.jackson.databind.node.ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("BertModel");
        n.put("model_type", "bert");
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

    public int vocabSize() { return vocabSize; }
    public int hiddenSize() { return hiddenSize; }
    public int numHiddenLayers() { return numHiddenLayers; }
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
        return builder().vocabSize(vocabSize).hiddenSize(hiddenSize).numHiddenLayers(numHiddenLayers)
                .numAttentionHeads(numAttentionHeads).intermediateSize(intermediateSize)
                .maxPositionEmbeddings(maxPositionEmbeddings).typeVocabSize(typeVocabSize)
                .layerNormEps(layerNormEps).hiddenDropoutProb(hiddenDropoutProb)
                .attentionProbsDropoutProb(attentionProbsDropoutProb).hiddenAct(hiddenAct);
    }

    @Override
    public String toString() {
        return "BertConfig(vocab=" + vocabSize + ", hidden=" + hiddenSize + ", layers=" + numHiddenLayers
                + ", heads=" + numAttentionHeads + ", intermediate=" + intermediateSize + ")";
    }

    /** Defaults are bert-base-uncased's. */
    public static final class Builder {
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

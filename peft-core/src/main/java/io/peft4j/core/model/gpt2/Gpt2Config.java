package io.peft4j.core.model.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The hyper-parameters of transformers' {@code GPT2Config}, named as in {@code config.json}. */
public final class Gpt2Config implements ModelConfig {
    public static final String MODEL_TYPE = "gpt2";
    public static final String ARCHITECTURE = "GPT2LMHeadModel";
    /** transformers' names of the tanh approximation of GELU, which GPT-2 uses. */
    public static final List<String> ACTIVATIONS = List.of("gelu_new", "gelu_pytorch_tanh");

    private final int vocabSize;
    private final int nPositions;
    private final int nEmbd;
    private final int nLayer;
    private final int nHead;
    private final int nInner;
    private final String activationFunction;
    private final float layerNormEpsilon;
    private final boolean scaleAttnWeights;
    private final boolean scaleAttnByInverseLayerIdx;
    private final boolean tieWordEmbeddings;
    private final Integer bosTokenId;
    private final List<Integer> eosTokenIds;

    private Gpt2Config(Builder b) {
        this.vocabSize = b.vocabSize;
        this.nPositions = b.nPositions;
        this.nEmbd = b.nEmbd;
        this.nLayer = b.nLayer;
        this.nHead = b.nHead;
        this.nInner = b.nInner == null ? 4 * b.nEmbd : b.nInner;
        this.activationFunction = b.activationFunction;
        this.layerNormEpsilon = b.layerNormEpsilon;
        this.scaleAttnWeights = b.scaleAttnWeights;
        this.scaleAttnByInverseLayerIdx = b.scaleAttnByInverseLayerIdx;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.bosTokenId = b.bosTokenId;
        this.eosTokenIds = b.eosTokenIds == null ? List.of() : List.copyOf(b.eosTokenIds);
        positive("vocab_size", vocabSize);
        positive("n_positions", nPositions);
        positive("n_embd", nEmbd);
        positive("n_layer", nLayer);
        io.peft4j.core.model.ModelBounds.range("n_layer", nLayer, 1, io.peft4j.core.model.ModelBounds.MAX_LAYERS);
        positive("n_head", nHead);
        positive("n_inner", nInner);
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("n_embd " + nEmbd + " must be a multiple of n_head " + nHead);
        }
        if (!ACTIVATIONS.contains(activationFunction)) {
            throw new IllegalArgumentException("activation_function '" + activationFunction + "' is not supported; expected one of "
                    + ACTIVATIONS);
        }
        if (!(layerNormEpsilon > 0)) {
            throw new IllegalArgumentException("layer_norm_epsilon must be > 0, got " + layerNormEpsilon);
        }
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
     * Reads {@code config.json} strictly: a field of the wrong JSON type, a {@code model_type} other than
     * {@code gpt2} or an activation other than the tanh GELU is an error naming the file and the field.
     * Absent fields take transformers' {@code GPT2Config} defaults.
     */
    public static Gpt2Config fromJson(Path configJson) throws IOException {
        JsonNode n = ConfigJson.readObject(configJson);
        try {
            ConfigJson f = ConfigJson.of(n, configJson.toString());
            String type = f.text("model_type");
            if (!MODEL_TYPE.equals(type)) {
                throw new IllegalArgumentException("model_type '" + type + "' is not '" + MODEL_TYPE + "'");
            }
            Builder b = builder();
            b.vocabSize(f.intField("vocab_size", b.vocabSize))
                    .nPositions(f.intField("n_positions", b.nPositions))
                    .nEmbd(f.intField("n_embd", b.nEmbd))
                    .nLayer(f.intField("n_layer", b.nLayer))
                    .nHead(f.intField("n_head", b.nHead))
                    .layerNormEpsilon(f.floatField("layer_norm_epsilon", b.layerNormEpsilon))
                    .scaleAttnWeights(f.boolField("scale_attn_weights", true))
                    .scaleAttnByInverseLayerIdx(f.boolField("scale_attn_by_inverse_layer_idx", false))
                    .tieWordEmbeddings(f.boolField("tie_word_embeddings", true));
            if (f.text("activation_function") != null) {
                b.activationFunction(f.text("activation_function"));
            }
            if (f.has("n_inner") && !n.get("n_inner").isNull()) {
                b.nInner(f.intField("n_inner", 0));
            }
            if (f.has("bos_token_id")) {
                b.bosTokenId(f.intField("bos_token_id", 0));
            }
            b.eosTokenIds(f.intOrList("eos_token_id"));
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add(ARCHITECTURE);
        n.put("model_type", MODEL_TYPE);
        n.put("vocab_size", vocabSize);
        n.put("n_positions", nPositions);
        n.put("n_embd", nEmbd);
        n.put("n_layer", nLayer);
        n.put("n_head", nHead);
        n.put("n_inner", nInner);
        n.put("activation_function", activationFunction);
        n.put("layer_norm_epsilon", layerNormEpsilon);
        n.put("scale_attn_weights", scaleAttnWeights);
        n.put("scale_attn_by_inverse_layer_idx", scaleAttnByInverseLayerIdx);
        n.put("tie_word_embeddings", tieWordEmbeddings);
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

    @Override public String modelType() { return MODEL_TYPE; }
    @Override public int vocabSize() { return vocabSize; }
    /** {@code n_embd}. */
    @Override public int hiddenSize() { return nEmbd; }
    /** {@code n_layer}. */
    @Override public int numHiddenLayers() { return nLayer; }
    public int nPositions() { return nPositions; }
    public int nHead() { return nHead; }
    /** The MLP width: {@code n_inner}, or {@code 4 * n_embd} when the config has none. */
    public int nInner() { return nInner; }
    public int headDim() { return nEmbd / nHead; }
    public String activationFunction() { return activationFunction; }
    public float layerNormEpsilon() { return layerNormEpsilon; }
    public boolean scaleAttnWeights() { return scaleAttnWeights; }
    public boolean scaleAttnByInverseLayerIdx() { return scaleAttnByInverseLayerIdx; }
    public boolean tieWordEmbeddings() { return tieWordEmbeddings; }
    public Integer bosTokenId() { return bosTokenId; }
    /** One or several ids; empty when the config has none. */
    public List<Integer> eosTokenIds() { return eosTokenIds; }

    @Override
    public String toString() {
        return "Gpt2Config(vocab=" + vocabSize + ", n_embd=" + nEmbd + ", n_layer=" + nLayer + ", n_head=" + nHead
                + ", n_positions=" + nPositions + ", n_inner=" + nInner + ")";
    }

    /** Defaults are transformers' {@code GPT2Config}'s (the 124M GPT-2). */
    public static final class Builder {
        private int vocabSize = 50257;
        private int nPositions = 1024;
        private int nEmbd = 768;
        private int nLayer = 12;
        private int nHead = 12;
        private Integer nInner;
        private String activationFunction = "gelu_new";
        private float layerNormEpsilon = 1e-5f;
        private boolean scaleAttnWeights = true;
        private boolean scaleAttnByInverseLayerIdx;
        private boolean tieWordEmbeddings = true;
        private Integer bosTokenId = 50256;
        private List<Integer> eosTokenIds = List.of(50256);

        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder nPositions(int v) { nPositions = v; return this; }
        public Builder nEmbd(int v) { nEmbd = v; return this; }
        public Builder nLayer(int v) { nLayer = v; return this; }
        public Builder nHead(int v) { nHead = v; return this; }
        public Builder nInner(Integer v) { nInner = v; return this; }
        public Builder activationFunction(String v) { activationFunction = v; return this; }
        public Builder layerNormEpsilon(float v) { layerNormEpsilon = v; return this; }
        public Builder scaleAttnWeights(boolean v) { scaleAttnWeights = v; return this; }
        public Builder scaleAttnByInverseLayerIdx(boolean v) { scaleAttnByInverseLayerIdx = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder bosTokenId(Integer v) { bosTokenId = v; return this; }
        public Builder eosTokenIds(List<Integer> v) { eosTokenIds = v; return this; }

        public Gpt2Config build() {
            return new Gpt2Config(this);
        }
    }
}

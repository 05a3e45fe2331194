package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;

import java.util.Set;

/**
 * HF PEFT's {@code PrefixTuningConfig} ({@code peft_type} {@code PREFIX_TUNING}): the common prompt
 * fields plus {@code prefix_projection} (train the prefixes through a Linear, Tanh, Linear
 * reparameterization of width {@code encoder_hidden_size}) and {@code encoder_hidden_size}. On a
 * grouped-query model {@code token_dim} and {@code num_attention_heads} are the key/value width and
 * heads, as HF PEFT sets them, so that the saved prefixes are {@code [num_virtual_tokens,
 * num_layers * 2 * token_dim]}.
 */
public final class PrefixTuningConfig extends PromptLearningConfig {
    public static final String PEFT_TYPE = "PREFIX_TUNING";
    private static final Set<String> OWN = Set.of("encoder_hidden_size", "prefix_projection");

    private final Integer encoderHiddenSize;
    private final boolean prefixProjection;

    private PrefixTuningConfig(Builder b) {
        super(b);
        if (b.prefixProjection && (b.encoderHiddenSize == null || b.encoderHiddenSize < 1)) {
            throw new IllegalArgumentException("PrefixTuningConfig: prefix_projection needs encoder_hidden_size of at least 1, got "
                    + b.encoderHiddenSize);
        }
        this.encoderHiddenSize = b.encoderHiddenSize;
        this.prefixProjection = b.prefixProjection;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    public Integer encoderHiddenSize() {
        return encoderHiddenSize;
    }

    public boolean prefixProjection() {
        return prefixProjection;
    }

    @Override
    PrefixTuningConfig withSizes(int tokenDim, int numAttentionHeads, int numLayers) {
        return toBuilder().tokenDim(tokenDim).numAttentionHeads(numAttentionHeads).numLayers(numLayers)
                .numTransformerSubmodules(1).build();
    }

    @Override
    PrefixTuningConfig forInference() {
        return toBuilder().inferenceMode(true).build();
    }

    public Builder toBuilder() {
        Builder b = copyCommon(new Builder());
        b.encoderHiddenSize = encoderHiddenSize;
        b.prefixProjection = prefixProjection;
        return b;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        putOrNull(json, "encoder_hidden_size", encoderHiddenSize);
        json.put("prefix_projection", prefixProjection);
    }

    public static PrefixTuningConfig fromJson(JsonNode json) {
        Builder b = new Builder();
        ConfigJson c = readCommon(json, PEFT_TYPE, "PrefixTuningConfig", OWN, b);
        b.encoderHiddenSize(optInt(c, "encoder_hidden_size")).prefixProjection(c.boolField("prefix_projection", false));
        return b.build();
    }

    public static final class Builder extends PromptLearningConfig.Builder<PrefixTuningConfig, Builder> {
        private Integer encoderHiddenSize;
        private boolean prefixProjection;

        private Builder() {}

        public Builder encoderHiddenSize(Integer v) {
            this.encoderHiddenSize = v;
            return this;
        }

        /** Default false, as HF PEFT. */
        public Builder prefixProjection(boolean v) {
            this.prefixProjection = v;
            return this;
        }

        @Override
        public PrefixTuningConfig build() {
            return new PrefixTuningConfig(this);
        }
    }
}

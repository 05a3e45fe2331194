package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;

import java.util.Locale;
import java.util.Set;

/**
 * HF PEFT's {@code PromptEncoderConfig} ({@code peft_type} {@code P_TUNING}): the common prompt fields
 * plus {@code encoder_reparameterization_type} ({@code MLP} or {@code LSTM}), {@code encoder_hidden_size}
 * (default: {@code token_dim}), {@code encoder_num_layers} (LSTM layers; HF's MLP ignores it) and
 * {@code encoder_dropout} (between LSTM layers). The encoder exists while training; what is saved is its
 * output, and an adapter loaded for inference is a plain table of those vectors.
 */
public final class PTuningConfig extends PromptLearningConfig {
    public static final String PEFT_TYPE = "P_TUNING";
    private static final Set<String> OWN = Set.of("encoder_reparameterization_type", "encoder_hidden_size",
            "encoder_num_layers", "encoder_dropout");

    private final EncoderReparameterizationType encoderReparameterizationType;
    private final Integer encoderHiddenSize;
    private final int encoderNumLayers;
    private final float encoderDropout;

    private PTuningConfig(Builder b) {
        super(b);
        if (b.encoderHiddenSize != null && b.encoderHiddenSize < 1) {
            throw new IllegalArgumentException("PTuningConfig: encoder_hidden_size must be at least 1, got " + b.encoderHiddenSize);
        }
        if (b.encoderNumLayers < 1) {
            throw new IllegalArgumentException("PTuningConfig: encoder_num_layers must be at least 1, got " + b.encoderNumLayers);
        }
        if (!(b.encoderDropout >= 0 && b.encoderDropout < 1)) {
            throw new IllegalArgumentException("PTuningConfig: encoder_dropout must be in [0, 1), got " + b.encoderDropout);
        }
        this.encoderReparameterizationType = b.encoderReparameterizationType;
        this.encoderHiddenSize = b.encoderHiddenSize;
        this.encoderNumLayers = b.encoderNumLayers;
        this.encoderDropout = b.encoderDropout;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    public EncoderReparameterizationType encoderReparameterizationType() {
        return encoderReparameterizationType;
    }

    /** The encoder's width, or null for {@code token_dim}. */
    public Integer encoderHiddenSize() {
        return encoderHiddenSize;
    }

    public int encoderNumLayers() {
        return encoderNumLayers;
    }

    public float encoderDropout() {
        return encoderDropout;
    }

    @Override
    PTuningConfig withSizes(int tokenDim, int numAttentionHeads, int numLayers) {
        Builder b = toBuilder().tokenDim(tokenDim).numAttentionHeads(numAttentionHeads).numLayers(numLayers)
                .numTransformerSubmodules(1);
        if (encoderHiddenSize == null) {
            b.encoderHiddenSize(tokenDim);
        }
        return b.build();
    }

    @Override
    PTuningConfig forInference() {
        return toBuilder().inferenceMode(true).build();
    }

    public Builder toBuilder() {
        Builder b = copyCommon(new Builder());
        b.encoderReparameterizationType = encoderReparameterizationType;
        b.encoderHiddenSize = encoderHiddenSize;
        b.encoderNumLayers = encoderNumLayers;
        b.encoderDropout = encoderDropout;
        return b;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        json.put("encoder_reparameterization_type", encoderReparameterizationType.name());
        putOrNull(json, "encoder_hidden_size", encoderHiddenSize);
        json.put("encoder_num_layers", encoderNumLayers);
        json.put("encoder_dropout", encoderDropout);
    }

    public static PTuningConfig fromJson(JsonNode json) {
        Builder b = new Builder();
        ConfigJson c = readCommon(json, PEFT_TYPE, "PTuningConfig", OWN, b);
        if (c.has("encoder_reparameterization_type")) {
            String s = c.text("encoder_reparameterization_type");
            String name = s.startsWith("PromptEncoderReparameterizationType.")
                    ? s.substring("PromptEncoderReparameterizationType.".length()) : s;
            try {
                b.encoderReparameterizationType(EncoderReparameterizationType.valueOf(name.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("PTuningConfig: encoder_reparameterization_type must be MLP or LSTM, got '"
                        + s + "'", e);
            }
        }
        b.encoderHiddenSize(optInt(c, "encoder_hidden_size"))
                .encoderNumLayers(c.intField("encoder_num_layers", 2))
                .encoderDropout(c.floatField("encoder_dropout", 0f));
        return b.build();
    }

    public static final class Builder extends PromptLearningConfig.Builder<PTuningConfig, Builder> {
        private EncoderReparameterizationType encoderReparameterizationType = EncoderReparameterizationType.MLP;
        private Integer encoderHiddenSize;
        private int encoderNumLayers = 2;
        private float encoderDropout;

        private Builder() {}

        /** Default {@code MLP}, as HF PEFT. */
        public Builder encoderReparameterizationType(EncoderReparameterizationType v) {
            this.encoderReparameterizationType = java.util.Objects.requireNonNull(v, "encoder_reparameterization_type");
            return this;
        }

        public Builder encoderHiddenSize(Integer v) {
            this.encoderHiddenSize = v;
            return this;
        }

        /** Default 2, as HF PEFT. */
        public Builder encoderNumLayers(int v) {
            this.encoderNumLayers = v;
            return this;
        }

        /** Default 0, as HF PEFT. */
        public Builder encoderDropout(float v) {
            this.encoderDropout = v;
            return this;
        }

        @Override
        public PTuningConfig build() {
            return new PTuningConfig(this);
        }
    }
}

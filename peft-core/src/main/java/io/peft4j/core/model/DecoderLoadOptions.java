package io.peft4j.core.model;

import ai.djl.ndarray.types.DataType;

import io.peft4j.core.quant.QuantizationConfig;

import java.util.Objects;

/**
 * How a decoder checkpoint is held in memory once loaded, chosen at load so that no larger copy of the
 * model ever exists: the dtype of frozen layer weights ({@code FLOAT32}, the default, or {@code FLOAT16},
 * the dtype {@link io.peft4j.core.nn.MixedPrecision} keeps frozen weights in; the trainer then keeps them
 * so), and optionally 4-bit (or 8-bit) quantization of the linear layers as QLoRA does it, applied to
 * each layer as soon as it is read. The output head ({@code lm_head}) is never quantized, as in
 * transformers' bitsandbytes integration. Immutable; build with {@link #builder()}.
 *
 * <p>A checkpoint saved quantized (a transformers directory whose {@code config.json} has a
 * bitsandbytes {@code quantization_config}) is loaded quantized as saved whatever these options say
 * about quantization.
 */
public final class DecoderLoadOptions {
    private static final DecoderLoadOptions DEFAULTS = builder().build();

    private final DataType frozenWeights;
    private final QuantizationConfig quantization;

    private DecoderLoadOptions(Builder b) {
        this.frozenWeights = b.frozenWeights;
        this.quantization = b.quantization;
    }

    /** Float32 weights, no quantization: the checkpoint as trained, whatever dtype it is stored in. */
    public static DecoderLoadOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The dtype of the weights of linear, Conv1D and embedding layers that are not quantized. */
    public DataType frozenWeights() {
        return frozenWeights;
    }

    /** How linear layers are quantized while loading, or null to keep them in {@link #frozenWeights()}. */
    public QuantizationConfig quantization() {
        return quantization;
    }

    @Override
    public String toString() {
        return "DecoderLoadOptions(frozenWeights " + frozenWeights + (quantization == null ? "" : ", " + quantization) + ")";
    }

    public static final class Builder {
        private DataType frozenWeights = DataType.FLOAT32;
        private QuantizationConfig quantization;

        private Builder() {}

        /** FLOAT32 (default) or FLOAT16; the layers compute in float32 either way. */
        public Builder frozenWeights(DataType frozenWeights) {
            this.frozenWeights = Objects.requireNonNull(frozenWeights, "frozenWeights");
            return this;
        }

        /** Quantize linear layers while loading (e.g. {@link QuantizationConfig#nf4()}); null for none. */
        public Builder quantization(QuantizationConfig quantization) {
            this.quantization = quantization;
            return this;
        }

        public DecoderLoadOptions build() {
            if (frozenWeights != DataType.FLOAT32 && frozenWeights != DataType.FLOAT16) {
                throw new IllegalArgumentException("frozenWeights must be FLOAT32 or FLOAT16, got " + frozenWeights
                        + (frozenWeights == DataType.BFLOAT16 ? " (DJL 0.35's PyTorch engine aborts the JVM on bfloat16 arrays;"
                                + " bfloat16 checkpoints load into either)" : ""));
            }
            return new DecoderLoadOptions(this);
        }
    }
}

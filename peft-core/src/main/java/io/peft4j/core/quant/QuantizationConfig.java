package io.peft4j.core.quant;

import ai.djl.ndarray.types.DataType;

import java.util.List;
import java.util.Objects;

/**
 * How to quantize a model's linear layers, after bitsandbytes' {@code BitsAndBytesConfig}:
 * the type ({@code bnb_4bit_quant_type}), block size, double quantization
 * ({@code bnb_4bit_use_double_quant}), compute dtype ({@code bnb_4bit_compute_dtype}) and the
 * modules left alone ({@code llm_int8_skip_modules}). Immutable; build with {@link #builder()}.
 */
public final class QuantizationConfig {
    /** bitsandbytes' block sizes for 4-bit quantization. */
    static final List<Integer> BLOCK_SIZES = List.of(64, 128, 256, 512, 1024, 2048, 4096);
    /** Double quantization groups the first-level constants in blocks of 256, as bitsandbytes does. */
    public static final int NESTED_BLOCK_SIZE = 256;

    private final QuantType type;
    private final int blockSize;
    private final boolean doubleQuant;
    private final DataType computeDType;
    private final List<String> skipModules;

    private QuantizationConfig(Builder b) {
        this.type = b.type;
        this.blockSize = b.blockSize;
        this.doubleQuant = b.doubleQuant;
        this.computeDType = b.computeDType;
        this.skipModules = List.copyOf(b.skipModules);
    }

    /** QLoRA's setting: NF4, blocks of 64, double quantization, float32 compute. */
    public static QuantizationConfig nf4() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().type(type).blockSize(blockSize).doubleQuant(doubleQuant).computeDType(computeDType)
                .skipModules(skipModules);
    }

    public QuantType type() {
        return type;
    }

    public int blockSize() {
        return blockSize;
    }

    public boolean doubleQuant() {
        return doubleQuant;
    }

    public DataType computeDType() {
        return computeDType;
    }

    /** Module names (exact or as a dotted suffix) that stay in float32. */
    public List<String> skipModules() {
        return skipModules;
    }

    /** True when {@code moduleName} is one of the skipped modules or lies below one. */
    public boolean skips(String moduleName) {
        for (String s : skipModules) {
            if (moduleName.equals(s) || moduleName.endsWith("." + s) || moduleName.startsWith(s + ".")
                    || moduleName.contains("." + s + ".")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "QuantizationConfig(" + type + (type.isFourBit() ? ", block " + blockSize + (doubleQuant ? ", double quant" : "") : "")
                + ", compute " + computeDType + (skipModules.isEmpty() ? "" : ", skip " + skipModules) + ")";
    }

    public static final class Builder {
        private QuantType type = QuantType.NF4;
        private int blockSize = 64;
        private boolean doubleQuant = true;
        private DataType computeDType = DataType.FLOAT32;
        private List<String> skipModules = List.of();

        private Builder() {}

        public Builder type(QuantType type) {
            this.type = Objects.requireNonNull(type, "type");
            return this;
        }

        /** Weights per absmax scale for the 4-bit types: 64 (default) to 4096, a power of two. */
        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        /** Quantize the absmax constants again to 8 bits (QLoRA's double quantization); 4-bit types only. */
        public Builder doubleQuant(boolean doubleQuant) {
            this.doubleQuant = doubleQuant;
            return this;
        }

        /**
         * The dtype weights are dequantized to and the matmul runs in: FLOAT32 (default, and the fast
         * one on CPUs) or FLOAT16 (for GPUs). BFLOAT16 is refused: DJL 0.35's PyTorch engine aborts
         * the JVM on bfloat16 arrays.
         */
        public Builder computeDType(DataType computeDType) {
            this.computeDType = Objects.requireNonNull(computeDType, "computeDType");
            return this;
        }

        public Builder skipModules(List<String> skipModules) {
            this.skipModules = List.copyOf(skipModules);
            return this;
        }

        public Builder skipModules(String... skipModules) {
            return skipModules(List.of(skipModules));
        }

        public QuantizationConfig build() {
            if (type.isFourBit() && !BLOCK_SIZES.contains(blockSize)) {
                throw new IllegalArgumentException("blockSize must be one of " + BLOCK_SIZES + " (as in bitsandbytes), got "
                        + blockSize);
            }
            if (!type.isFourBit() && doubleQuant) {
                doubleQuant = false;
            }
            if (computeDType == DataType.BFLOAT16) {
                throw new IllegalArgumentException("computeDType BFLOAT16 is not available: DJL 0.35's PyTorch engine "
                        + "aborts the JVM on bfloat16 arrays; use FLOAT32 (CPU) or FLOAT16 (GPU)");
            }
            if (computeDType != DataType.FLOAT32 && computeDType != DataType.FLOAT16) {
                throw new IllegalArgumentException("computeDType must be FLOAT32 or FLOAT16, got " + computeDType);
            }
            return new QuantizationConfig(this);
        }
    }
}

package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What it takes to dequantize a quantized weight, as bitsandbytes' {@code QuantState}: the type,
 * block size and original shape and dtype, the per-block (or per-row for INT8) absmax scales and the
 * code table; with double quantization the scales are themselves 8-bit codes, and {@link Nested}
 * holds their own scales, code table and the subtracted mean ({@code offset}).
 */
public final class QuantState {
    private final QuantType type;
    private final int blockSize;
    private final long[] shape;
    private final String dtype;
    private final NDArray absmax;
    private final NDArray code;
    private final Nested nested;

    /** Second-level state of double quantization: absmax = code[q] * scale[block] + offset. */
    public static final class Nested {
        private final NDArray absmax;
        private final NDArray code;
        private final int blockSize;
        private final float offset;

        public Nested(NDArray absmax, NDArray code, int blockSize, float offset) {
            this.absmax = absmax;
            this.code = code;
            this.blockSize = blockSize;
            this.offset = offset;
        }

        /** float32, one per block of {@link #blockSize()} first-level scales. */
        public NDArray absmax() {
            return absmax;
        }

        /** The 8-bit map the first-level scales were coded with (256 float32 values). */
        public NDArray code() {
            return code;
        }

        public int blockSize() {
            return blockSize;
        }

        /** The mean of the first-level scales, subtracted before coding them. */
        public float offset() {
            return offset;
        }
    }

    public QuantState(QuantType type, int blockSize, long[] shape, String dtype, NDArray absmax, NDArray code, Nested nested) {
        this.type = type;
        this.blockSize = blockSize;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.absmax = absmax;
        this.code = code;
        this.nested = nested;
    }

    public QuantType type() {
        return type;
    }

    /** Weights per scale (4-bit types); for INT8 the row length. */
    public int blockSize() {
        return blockSize;
    }

    /** The shape of the original weight, e.g. {@code [out, in]}. */
    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The original weight's dtype as bitsandbytes writes it ({@code float32}, {@code float16}, ...). */
    public String dtype() {
        return dtype;
    }

    /** First-level scales: float32 per block, or uint8 codes when double-quantized; INT8's per-row scales. */
    public NDArray absmax() {
        return absmax;
    }

    /** The code table (16 float32 values for the 4-bit types), or null for INT8. */
    public NDArray code() {
        return code;
    }

    /** The double-quantization state, or null. */
    public Nested nested() {
        return nested;
    }

    public int numBlocks() {
        return Math.toIntExact((numel() + blockSize - 1) / blockSize);
    }

    /** Every array of the state, for moving them between managers together. */
    List<NDArray> arrays() {
        List<NDArray> out = new ArrayList<>(List.of(absmax));
        if (code != null) {
            out.add(code);
        }
        if (nested != null) {
            out.add(nested.absmax);
            out.add(nested.code);
        }
        return out;
    }

    /** Moves every array to {@code manager}. */
    void attach(NDManager manager) {
        arrays().forEach(a -> a.attach(manager));
    }

    @Override
    public String toString() {
        return "QuantState(" + type + ", block " + blockSize + ", shape " + Arrays.toString(shape)
                + (nested != null ? ", double quant" : "") + ")";
    }
}

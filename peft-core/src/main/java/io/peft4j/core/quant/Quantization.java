package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Quantize and dequantize weights: pure functions, apart from any layer. They run with PyTorch
 * ops on the weight's device; the result of {@link #quantize} belongs to {@code target}, the result of
 * {@link #dequantize} to {@code target} as well, and every intermediate array is freed before return.
 */
public final class Quantization {
    private Quantization() {}

    /**
     * Quantizes a 2-D weight as {@code config} says. 4-bit types pack two codes per byte with one
     * float32 absmax per block (the last block zero-padded when the element count is not a multiple
     * of the block size); with double quantization the absmax values, less their mean, are coded
     * with the dynamic 8-bit map in blocks of 256 with one float32 scale each. INT8 keeps one float32
     * absmax per row ({@code SCB} in bitsandbytes) and rounds to [-127, 127].
     *
     * @param name names the weight in errors
     */
    public static QuantizedTensor quantize(NDArray weight, QuantizationConfig config, NDManager target, String name) {
        long[] shape = weight.getShape().getShape();
        if (shape.length != 2) {
            throw new IllegalArgumentException("Cannot quantize '" + name + "': expected a 2-D weight [out, in], got shape "
                    + weight.getShape());
        }
        if (weight.getDataType() != DataType.FLOAT32 && weight.getDataType() != DataType.FLOAT16) {
            throw new IllegalArgumentException("Cannot quantize '" + name + "': expected float32 or float16, got "
                    + weight.getDataType());
        }
        String dtype = weight.getDataType() == DataType.FLOAT16 ? "float16" : "float32";
        try (NDManager work = weight.getManager().newSubManager()) {
            NDArray w = weight.duplicate();
            w.attach(work);
            QuantizedTensor q = config.type().isFourBit()
                    ? quantize4bit(w, config, shape, dtype)
                    : quantizeInt8(w, shape, dtype);
            q.attach(target);
            return q;
        }
    }

    private static QuantizedTensor quantize4bit(NDArray w, QuantizationConfig config, long[] shape, String dtype) {
        NDManager m = w.getManager();
        float[] table = QuantCodes.of(config.type());
        NDArray[] codesAndAbsmax = Blockwise.quantize(w, table, config.blockSize());
        int zeroCode = zeroIndex(table);
        NDArray packed = Blockwise.pack(codesAndAbsmax[0], w.size(), zeroCode);
        NDArray absmax = codesAndAbsmax[1];
        NDArray code = m.create(table);
        QuantState.Nested nested = null;
        if (config.doubleQuant()) {
            float offset = absmax.mean().getFloat();
            float[] dynamic = QuantCodes.dynamic8bit();
            NDArray[] second = Blockwise.quantize(absmax.sub(offset), dynamic, QuantizationConfig.NESTED_BLOCK_SIZE);
            NDArray qabsmax = second[0].get("0:" + absmax.size()).toType(DataType.UINT8, false);
            nested = new QuantState.Nested(second[1], m.create(dynamic), QuantizationConfig.NESTED_BLOCK_SIZE, offset);
            absmax = qabsmax;
        }
        return new QuantizedTensor(packed, new QuantState(config.type(), config.blockSize(), shape, dtype, absmax, code, nested));
    }

    private static QuantizedTensor quantizeInt8(NDArray w, long[] shape, String dtype) {
        NDArray rowMax = w.abs().max(new int[] {1});
        NDArray divisor = ai.djl.ndarray.NDArrays.where(rowMax.gt(0f), rowMax, rowMax.onesLike());
        NDArray q = w.mul(127f).div(divisor.reshape(-1, 1)).round().clip(-127f, 127f).toType(DataType.INT8, false);
        return new QuantizedTensor(q, new QuantState(QuantType.INT8, (int) shape[1], shape, dtype, rowMax, null, null));
    }

    /**
     * The weight as float32 (or {@code dtype}), owned by {@code target}. For 4-bit types the absmax is
     * first rebuilt from its 8-bit codes when double-quantized.
     */
    public static NDArray dequantize(QuantizedTensor q, DataType dtype, NDManager target) {
        try (NDManager work = target.newSubManager()) {
            q.tempAttach(work);
            NDArray w = dequantizeHere(q, pairTableFor(q, work));
            NDArray out = w.getDataType() == dtype ? w : w.toType(dtype, false);
            out.attach(target);
            return out;
        }
    }

    /**
     * Dequantizes with arrays already lent to the caller's scratch manager; results land in the
     * manager of {@code q}'s arrays. {@code pairs} is {@link Blockwise#pairTable} of the code table.
     */
    static NDArray dequantizeHere(QuantizedTensor q, NDArray pairs) {
        QuantState s = q.state();
        if (s.type() == QuantType.INT8) {
            return q.data().toType(DataType.FLOAT32, false).mul(s.absmax().div(127f).reshape(-1, 1));
        }
        return Blockwise.dequantize4bit(q.data(), pairs, absmaxOf(s), s.blockSize(), s.numel(), s.shape());
    }

    /** The float32 first-level absmax, decoding it when double-quantized. */
    static NDArray absmaxOf(QuantState s) {
        QuantState.Nested nested = s.nested();
        if (nested == null) {
            return s.absmax();
        }
        return Blockwise.dequantize8bit(s.absmax(), nested.code(), nested.absmax(), nested.blockSize(), s.absmax().size())
                .add(nested.offset());
    }

    /** The [256, 2] byte-to-values table of a 4-bit state, in {@code manager}; null for INT8. */
    static NDArray pairTableFor(QuantizedTensor q, NDManager manager) {
        if (q.state().code() == null) {
            return null;
        }
        return Blockwise.pairTable(manager, q.state().code().toFloatArray());
    }

    private static int zeroIndex(float[] table) {
        for (int i = 0; i < table.length; i++) {
            if (table[i] == 0f) {
                return i;
            }
        }
        throw new IllegalStateException("code table has no zero");
    }
}

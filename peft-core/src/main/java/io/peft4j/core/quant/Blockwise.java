package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Block-wise quantization with a code table, on the weight's device with PyTorch ops: each block of
 * {@code blockSize} values is divided by its absolute maximum and every value replaced by the index
 * of the nearest table entry. Results land in the manager of the input (DJL's rule for op results),
 * so callers run these inside a scratch sub-manager and keep what they need.
 */
final class Blockwise {
    private Blockwise() {}

    /** Codes (int32, one per value, values padded with zeros to whole blocks) and float32 absmax per block. */
    static NDArray[] quantize(NDArray values, float[] table, int blockSize) {
        long n = values.size();
        long blocks = (n + blockSize - 1) / blockSize;
        NDArray flat = values.toType(DataType.FLOAT32, false).reshape(-1);
        if (blocks * blockSize > n) {
            // The last block is padded with zeros: they change neither its absmax nor the other codes.
            flat = flat.concat(values.getManager().zeros(new Shape(blocks * blockSize - n)));
        }
        NDArray rows = flat.reshape(blocks, blockSize);
        NDArray absmax = rows.abs().max(new int[] {1});
        // An all-zero block keeps absmax 0 (it dequantizes to zeros); dividing by 1 avoids 0/0.
        NDArray divisor = NDArrays.where(absmax.gt(0f), absmax, absmax.onesLike());
        NDArray scaled = rows.div(divisor.reshape(blocks, 1)).clip(-1f, 1f).reshape(-1);
        return new NDArray[] {nearest(scaled, table), absmax};
    }

    /**
     * The index of the nearest table value for each element: the number of midpoints between sorted
     * table values below it (one comparison per midpoint, no [n, 16] distance matrix), mapped back to
     * the table's own order.
     */
    static NDArray nearest(NDArray scaled, float[] table) {
        QuantCodes.Nearest near = new QuantCodes.Nearest(table);
        NDArray rank = scaled.zerosLike().toType(DataType.INT32, false);
        for (float mid : near.midpoints) {
            rank = rank.add(scaled.gt(mid).toType(DataType.INT32, false));
        }
        if (near.identity()) {
            return rank;
        }
        NDArray lookup = scaled.getManager().create(near.codeOfRank);
        return lookup.get(new NDIndex("{}", rank.toType(DataType.INT64, false)));
    }

    /** Two 4-bit codes per byte, the first in the high nibble; an odd count is padded with {@code padCode}. */
    static NDArray pack(NDArray codes, long n, int padCode) {
        NDArray c = codes.get("0:" + n);
        if (n % 2 == 1) {
            c = c.concat(codes.getManager().create(new int[] {padCode}));
        }
        NDArray pairs = c.reshape(-1, 2);
        NDArray high = pairs.get(":, 0");
        NDArray low = pairs.get(":, 1");
        return high.mul(16).add(low).toType(DataType.UINT8, false).reshape(-1, 1);
    }

    /**
     * A [256, 2] table of the two values each byte encodes, so unpacking is one gather: DJL has no
     * bit shifts, and a gather on a 2 KB table beats two integer divisions per byte anyway.
     */
    static NDArray pairTable(NDManager manager, float[] code) {
        float[] t = new float[512];
        for (int b = 0; b < 256; b++) {
            t[2 * b] = code[b >> 4];
            t[2 * b + 1] = code[b & 0xF];
        }
        return manager.create(t, new Shape(256, 2));
    }

    /** Values of packed 4-bit codes times their block's absmax, trimmed to n and shaped as {@code shape}. */
    static NDArray dequantize4bit(NDArray packed, NDArray pairs, NDArray absmax, int blockSize, long n, long[] shape) {
        NDArray values = pairs.get(new NDIndex("{}", packed.reshape(-1).toType(DataType.INT64, false))).reshape(-1);
        return scale(values, absmax, blockSize, n).reshape(new Shape(shape));
    }

    /** 8-bit codes looked up in {@code code} (256 values) times their block's absmax. */
    static NDArray dequantize8bit(NDArray codes, NDArray code, NDArray absmax, int blockSize, long n) {
        NDArray values = code.get(new NDIndex("{}", codes.reshape(-1).toType(DataType.INT64, false)));
        return scale(values, absmax, blockSize, n);
    }

    private static NDArray scale(NDArray values, NDArray absmax, int blockSize, long n) {
        long blocks = absmax.size();
        long have = values.size();
        if (have < blocks * blockSize) {
            values = values.concat(values.getManager().zeros(new Shape(blocks * blockSize - have)));
        } else if (have > blocks * blockSize) {
            values = values.get("0:" + blocks * blockSize);
        }
        NDArray out = values.reshape(blocks, blockSize).mul(absmax.reshape(blocks, 1)).reshape(-1);
        return blocks * blockSize > n ? out.get("0:" + n) : out;
    }
}

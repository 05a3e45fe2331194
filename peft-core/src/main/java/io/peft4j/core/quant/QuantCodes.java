package io.peft4j.core.quant;

import org.apache.commons.math3.distribution.NormalDistribution;

import java.util.Arrays;

/**
 * The code books of block-wise quantization: a code is the index of the nearest value in a table
 * of values in [-1, 1]. Each table is built the way bitsandbytes builds it, in float32 where
 * bitsandbytes computes in float32, so that files written here and there carry the same values.
 */
public final class QuantCodes {
    /**
     * bitsandbytes' {@code create_normal_map} offset: the normal quantile probability mapped to 1.0,
     * chosen in the QLoRA paper as the mean of the two tail probabilities 1 - 1/(2*15) and 1 - 1/(2*16).
     */
    static final float NF4_OFFSET = 0.9677083f;

    private static final float[] NF4 = buildNf4();
    private static final float[] FP4 = buildFp4();
    private static final float[] DYNAMIC = buildDynamic();

    private QuantCodes() {}

    /** The 16 NF4 values in ascending order (index = code), from -1 to 1 with an exact 0 at index 7. */
    public static float[] nf4() {
        return NF4.clone();
    }

    /** The 16 FP4 values, indexed by code as bitsandbytes decodes them (bit 3 = sign). */
    public static float[] fp4() {
        return FP4.clone();
    }

    /** bitsandbytes' signed dynamic 8-bit map (256 ascending values), used for double quantization. */
    public static float[] dynamic8bit() {
        return DYNAMIC.clone();
    }

    /** The code table of a 4-bit type. */
    public static float[] of(QuantType type) {
        switch (type) {
            case NF4: return nf4();
            case FP4: return fp4();
            default: throw new IllegalArgumentException(type + " has no 4-bit code table");
        }
    }

    /**
     * NF4 as in the QLoRA paper (section 3, "4-bit NormalFloat"): 8 positive quantiles of N(0, 1) at
     * probabilities evenly spaced from 0.5 to the offset, 7 negative ones likewise, plus 0; then
     * normalized by the largest. Asymmetric so that zero is exact and all 16 codes are used.
     */
    private static float[] buildNf4() {
        NormalDistribution normal = new NormalDistribution(0, 1);
        float[] positive = linspace(NF4_OFFSET, 0.5f, 9);
        float[] negative = linspace(NF4_OFFSET, 0.5f, 8);
        float[] v = new float[16];
        int k = 0;
        for (int i = 0; i < 8; i++) {
            v[k++] = (float) normal.inverseCumulativeProbability(positive[i]);
        }
        for (int i = 0; i < 7; i++) {
            v[k++] = (float) -normal.inverseCumulativeProbability(negative[i]);
        }
        v[k] = 0f;
        Arrays.sort(v);
        float max = v[15];
        for (int i = 0; i < 16; i++) {
            v[i] = v[i] / max;
        }
        return v;
    }

    /** FP4 with 2 exponent bits and 1 mantissa bit; bitsandbytes' code order, normalized by 12. */
    private static float[] buildFp4() {
        float[] magnitudes = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f};
        float[] v = new float[16];
        for (int i = 0; i < 8; i++) {
            v[i] = magnitudes[i] / 12f;
            v[i + 8] = -magnitudes[i] / 12f;
        }
        return v;
    }

    /**
     * The dynamic tree map of Dettmers (2015), "8-Bit Approximations for Parallelism in Deep
     * Learning", as bitsandbytes' {@code create_dynamic_map(signed=True)}: for each decade
     * 10^-6 .. 10^0 the midpoints of 2^i + 1 evenly spaced points in [0.1, 1], both signs, plus 0 and 1.
     */
    private static float[] buildDynamic() {
        float[] v = new float[256];
        int k = 0;
        for (int i = 0; i < 7; i++) {
            float[] bounds = linspace(0.1f, 1f, (1 << i) + 1);
            float scale = (float) Math.pow(10, -6 + i);
            for (int j = 0; j + 1 < bounds.length; j++) {
                float mean = (bounds[j] + bounds[j + 1]) / 2f;
                v[k++] = scale * mean;
                v[k++] = -scale * mean;
            }
        }
        v[k++] = 0f;
        v[k++] = 1f;
        Arrays.sort(v, 0, k);
        return v;
    }

    /** torch.linspace in float32: the first half counted from the start, the second from the end. */
    static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int half = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < half ? start + step * i : end - step * (steps - i - 1);
        }
        return out;
    }

    /**
     * The distinct table values in ascending order, with the code index of each and the midpoints
     * between neighbours: the nearest code of x is the one whose rank is the number of midpoints
     * below x (ties go to the lower value, as bitsandbytes' argmin does).
     */
    static final class Nearest {
        final float[] midpoints;
        /** code index of the k-th smallest distinct value. */
        final int[] codeOfRank;

        Nearest(float[] code) {
            Integer[] order = new Integer[code.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            // Stable on equal values (FP4's +0 and -0): the lower code index wins, as argmin picks it.
            Arrays.sort(order, (a, b) -> Float.compare(code[a] == 0f ? 0f : code[a], code[b] == 0f ? 0f : code[b]));
            int distinct = 0;
            float[] values = new float[code.length];
            int[] rankCode = new int[code.length];
            for (int i : order) {
                float v = code[i] == 0f ? 0f : code[i];
                if (distinct == 0 || v != values[distinct - 1]) {
                    values[distinct] = v;
                    rankCode[distinct] = i;
                    distinct++;
                }
            }
            midpoints = new float[distinct - 1];
            for (int i = 0; i + 1 < distinct; i++) {
                midpoints[i] = (values[i] + values[i + 1]) / 2f;
            }
            codeOfRank = Arrays.copyOf(rankCode, distinct);
        }

        boolean identity() {
            for (int i = 0; i < codeOfRank.length; i++) {
                if (codeOfRank[i] != i) {
                    return false;
                }
            }
            return true;
        }
    }
}

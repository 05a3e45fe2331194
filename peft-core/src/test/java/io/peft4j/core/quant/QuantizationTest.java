package io.peft4j.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;

import java.util.Random;

/**
 * Quantize / dequantize against a plain-Java reference of the same definition (nearest code of
 * value / block absmax, times absmax), and the error and size figures the QLoRA paper states.
 */
class QuantizationTest {
    private static float[] normal(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** The reference: per block absmax, nearest table value by brute force (first on ties). */
    static float[] reference4bit(float[] x, float[] table, int block) {
        float[] out = new float[x.length];
        for (int b = 0; b < x.length; b += block) {
            float absmax = 0;
            for (int i = b; i < Math.min(x.length, b + block); i++) {
                absmax = Math.max(absmax, Math.abs(x[i]));
            }
            for (int i = b; i < Math.min(x.length, b + block); i++) {
                float s = absmax == 0 ? 0 : Math.max(-1f, Math.min(1f, x[i] / absmax));
                int best = 0;
                for (int k = 1; k < table.length; k++) {
                    if (Math.abs(s - table[k]) < Math.abs(s - table[best])) {
                        best = k;
                    }
                }
                out[i] = table[best] * absmax;
            }
        }
        return out;
    }

    private static float[] roundTrip(float[] x, long rows, long cols, QuantizationConfig c) {
        try (NDManager m = Compute.newManager()) {
            NDArray w = m.create(x, new Shape(rows, cols));
            try (QuantizedTensor q = Quantization.quantize(w, c, m, "w")) {
                return Quantization.dequantize(q, DataType.FLOAT32, m).toFloatArray();
            }
        }
    }

    @Test
    void fourBitDequantizesToNearestCodeTimesBlockAbsmax() {
        float[] x = normal(96 * 100, 1);
        for (QuantType t : new QuantType[] {QuantType.NF4, QuantType.FP4}) {
            QuantizationConfig c = QuantizationConfig.builder().type(t).doubleQuant(false).build();
            float[] got = roundTrip(x, 100, 96, c);
            float[] want = reference4bit(x, QuantCodes.of(t), 64);
            for (int i = 0; i < x.length; i++) {
                // Same float32 operations in both; 1e-6 allows a last-bit difference in x / absmax.
                assertEquals(want[i], got[i], 1e-6f, t + " element " + i);
            }
        }
    }

    @Test
    void lastBlockIsPaddedWhenTheSizeIsNotAMultipleOfTheBlock() {
        float[] x = normal(3 * 43, 2); // 129 values: two full blocks of 64 and one of 1, odd count
        QuantizationConfig c = QuantizationConfig.builder().doubleQuant(false).build();
        try (NDManager m = Compute.newManager();
                QuantizedTensor q = Quantization.quantize(m.create(x, new Shape(3, 43)), c, m, "w")) {
            assertEquals(new Shape(65, 1), q.data().getShape());
            assertEquals(3, q.state().absmax().size());
            float[] got = Quantization.dequantize(q, DataType.FLOAT32, m).toFloatArray();
            float[] want = reference4bit(x, QuantCodes.nf4(), 64);
            for (int i = 0; i < x.length; i++) {
                assertEquals(want[i], got[i], 1e-6f, "element " + i);
            }
            // One value alone in its block is its own absmax: exact.
            assertEquals(x[128], got[128], 0f);
        }
    }

    @Test
    void doubleQuantizationStoresAbout4127BitsPerWeight() {
        int rows = 2048;
        int cols = 2048;
        float[] x = normal(rows * cols, 3);
        try (NDManager m = Compute.newManager();
                QuantizedTensor q = Quantization.quantize(m.create(x, new Shape(rows, cols)), QuantizationConfig.nf4(), m, "w")) {
            long n = (long) rows * cols;
            // codes n/2 bytes, one uint8 absmax per 64, one float32 per 256 of those, the float32 offset
            long expected = n / 2 + n / 64 + 4 * (n / 64 / 256) + 4;
            assertEquals(expected, q.storedBytes());
            double perParam = q.storedBytes() / (double) n;
            assertTrue(perParam <= 0.52, "bytes per parameter " + perParam);
            // The file, with the code tables and JSON state each tensor carries, stays under the bar too.
            long fileBytes = 0;
            for (io.peft4j.core.io.Tensor t : BnbTensors.write("w.weight", q).values()) {
                fileBytes += t.byteSize();
            }
            assertTrue(fileBytes / (double) n <= 0.52, "file bytes per parameter " + fileBytes / (double) n);
            System.out.printf("NF4 + double quant on %dx%d: %.5f bytes/param in memory (%.3f bits), %.5f in the file%n",
                    rows, cols, perParam, perParam * 8, fileBytes / (double) n);
        }
    }

    @Test
    void doubleQuantizationChangesTheScalesByLessThanTheirCodeStep() {
        float[] x = normal(64 * 512, 4);
        float[] single = roundTrip(x, 512, 64, QuantizationConfig.builder().doubleQuant(false).build());
        float[] dq = roundTrip(x, 512, 64, QuantizationConfig.nf4());
        double maeSingle = 0;
        double maeDouble = 0;
        for (int i = 0; i < x.length; i++) {
            maeSingle += Math.abs(single[i] - x[i]);
            maeDouble += Math.abs(dq[i] - x[i]);
        }
        maeSingle /= x.length;
        maeDouble /= x.length;
        // QLoRA reports no loss in quality from double quantization; on N(0,1) it costs under 2% MAE.
        assertTrue(maeDouble < maeSingle * 1.02, "double quant MAE " + maeDouble + " vs " + maeSingle);
    }

    @Test
    void nf4HasLowerErrorThanFourBitAbsmaxIntegersOnNormalData() {
        float[] x = normal(64 * 4096, 5);
        float[] nf4 = roundTrip(x, 4096, 64, QuantizationConfig.builder().doubleQuant(false).build());
        double maeNf4 = 0;
        double maeInt4 = 0;
        for (int b = 0; b < x.length; b += 64) {
            float absmax = 0;
            for (int i = b; i < b + 64; i++) {
                absmax = Math.max(absmax, Math.abs(x[i]));
            }
            for (int i = b; i < b + 64; i++) {
                // Symmetric 4-bit absmax integers: 15 levels -7..7 per block, the textbook baseline.
                float int4 = Math.round(x[i] / absmax * 7) * absmax / 7;
                maeInt4 += Math.abs(int4 - x[i]);
                maeNf4 += Math.abs(nf4[i] - x[i]);
            }
        }
        maeNf4 /= x.length;
        maeInt4 /= x.length;
        System.out.printf("MAE on N(0,1), blocks of 64: NF4 %.5f, 4-bit absmax int %.5f%n", maeNf4, maeInt4);
        assertTrue(maeNf4 < maeInt4, "NF4 MAE " + maeNf4 + " should be below int4's " + maeInt4);
    }

    @Test
    void int8KeepsOneScalePerRowAndRoundsToNearest() {
        float[] x = normal(8 * 100, 6);
        float[] got = roundTrip(x, 8, 100, QuantizationConfig.builder().type(QuantType.INT8).build());
        for (int r = 0; r < 8; r++) {
            float absmax = 0;
            for (int c = 0; c < 100; c++) {
                absmax = Math.max(absmax, Math.abs(x[r * 100 + c]));
            }
            for (int c = 0; c < 100; c++) {
                float want = Math.round(x[r * 100 + c] * 127f / absmax) * (absmax / 127f);
                assertEquals(want, got[r * 100 + c], 1e-6f * absmax);
            }
        }
    }

    @Test
    void allZeroBlocksStayZero() {
        float[] x = new float[128];
        x[70] = 2f;
        float[] got = roundTrip(x, 2, 64, QuantizationConfig.nf4());
        for (int i = 0; i < 64; i++) {
            assertEquals(0f, got[i], 0f);
        }
        assertEquals(2f, got[70], 2f * 0.01f);
    }

    @Test
    void refusesWeightsThatAreNotTwoDimensional() {
        try (NDManager m = Compute.newManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Quantization.quantize(m.ones(new Shape(4, 4, 4)), QuantizationConfig.nf4(), m, "layer.weight"));
            assertTrue(e.getMessage().contains("layer.weight") && e.getMessage().contains("(4, 4, 4)"), e.getMessage());
        }
    }

    @Test
    void configRefusesWhatBitsandbytesDoesNotOffer() {
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder().blockSize(48).build());
        IllegalArgumentException bf16 = assertThrows(IllegalArgumentException.class,
                () -> QuantizationConfig.builder().computeDType(DataType.BFLOAT16).build());
        assertTrue(bf16.getMessage().contains("BFLOAT16"));
    }
}

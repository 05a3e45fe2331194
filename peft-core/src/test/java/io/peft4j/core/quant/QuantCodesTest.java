package io.peft4j.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class QuantCodesTest {
    /** The NF4 values as published with QLoRA (bitsandbytes' get_4bit_type("nf4")). */
    private static final double[] PUBLISHED_NF4 = {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

    @Test
    void nf4IsBuiltFromNormalQuantilesAndMatchesThePublishedTable() {
        float[] nf4 = QuantCodes.nf4();
        assertEquals(16, nf4.length);
        for (int i = 0; i < 16; i++) {
            // Both are float32 values; the published ones printed as doubles. 1e-6 covers the last
            // float32 bit of values near 1 (ulp 6e-8) with room for libm differences in the quantile.
            assertEquals(PUBLISHED_NF4[i], nf4[i], 1e-6, "NF4 value " + i);
        }
        assertEquals(0f, nf4[7]);
    }

    @Test
    void fp4IsBitsandbytesTwoExponentOneMantissaBitCode() {
        float[] fp4 = QuantCodes.fp4();
        float[] twelfths = {0, 0.0625f, 8, 12, 4, 6, 2, 3};
        for (int i = 0; i < 8; i++) {
            assertEquals(twelfths[i] / 12f, fp4[i], 0f);
            assertEquals(-twelfths[i] / 12f, fp4[i + 8], 0f);
        }
    }

    @Test
    void dynamicMapHas256AscendingValuesFromTheDecadeConstruction() {
        float[] d = QuantCodes.dynamic8bit();
        assertEquals(256, d.length);
        for (int i = 1; i < 256; i++) {
            assertTrue(d[i] > d[i - 1], "ascending at " + i);
        }
        assertEquals(1f, d[255], 0f);
        // The top decade has 65 points in [0.1, 1], so its last midpoint is (1 + 1 - 0.9/64) / 2.
        assertEquals(-(2 - 0.9 / 64) / 2, d[0], 1e-7);
        assertEquals((2 - 0.9 / 64) / 2, d[254], 1e-7);
        // The smallest magnitude is 1e-6 times the midpoint of [0.1, 1].
        assertEquals(0.55e-6, d[128], 1e-12);
        assertEquals(0f, d[127], 0f);
    }

    @Test
    void linspaceFollowsTorch() {
        float[] l = QuantCodes.linspace(0.1f, 1f, 5);
        assertEquals(0.1f, l[0], 0f);
        assertEquals(1f, l[4], 0f);
        assertEquals(0.55f, l[2], 1e-7f);
    }
}

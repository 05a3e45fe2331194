package io.peft4j.core.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

class NativeOpsTest {
    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = Compute.newManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** Values exactly representable in float16 (small multiples of 1/8), so a round trip through it is exact. */
    private static final float[] HALF_EXACT = {0.5f, -1.25f, 2f, 3.75f, -0.125f, 8f};

    @Test
    void castToFloat16PassesTheGradientBack() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {1.5f, -2f, 0.25f, 7f, -3.5f, 0.75f}, new Shape(2, 3));
            x.setRequiresGradient(true);
            NDArray c = m.create(HALF_EXACT, new Shape(2, 3)).toType(DataType.FLOAT16, false);
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDArray y = NativeOps.castDifferentiable(x, DataType.FLOAT16);
                assertEquals(DataType.FLOAT16, y.getDataType());
                gc.backward(y.mul(c).sum());
            }
            // d/dx sum(cast(x) * c) = c, exact because c is exact in float16.
            assertArrayEquals(HALF_EXACT, x.getGradient().toFloatArray());
        }
    }

    @Test
    void castToFloat32PassesTheGradientBackToAFloat16Leaf() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {1.5f, -2f, 0.25f, 7f}, new Shape(4)).toType(DataType.FLOAT16, false);
            x.setRequiresGradient(true);
            NDArray c = m.create(new float[] {0.5f, -1.25f, 2f, 3.75f}, new Shape(4));
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDArray y = NativeOps.castDifferentiable(x, DataType.FLOAT32);
                assertArrayEquals(new float[] {1.5f, -2f, 0.25f, 7f}, y.toFloatArray());
                gc.backward(y.mul(c).sum());
            }
            NDArray g = x.getGradient();
            assertEquals(DataType.FLOAT16, g.getDataType());
            assertArrayEquals(new float[] {0.5f, -1.25f, 2f, 3.75f}, g.toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    /** Why the class exists: DJL's own cast runs under no-grad, so nothing reaches x through it. */
    @Test
    void djlToTypeStopsTheGradient() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {1.5f, -2f, 0.25f}, new Shape(3));
            x.setRequiresGradient(true);
            NDArray c = m.create(new float[] {0.5f, -1.25f, 2f}, new Shape(3)).toType(DataType.FLOAT16, false);
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDArray y = x.toType(DataType.FLOAT16, false);
                NDArray loss = y.mul(c).sum();
                // libtorch refuses a backward from a result with no grad_fn ("does not require grad").
                assertThrows(EngineException.class, () -> gc.backward(loss));
            }
            assertArrayEquals(new float[] {0f, 0f, 0f}, x.getGradient().toFloatArray());
        }
    }

    @Test
    void castToTheSameTypeIsTheArrayItselfAndOtherTargetsAreRefused() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {1f, 2f});
            assertTrue(NativeOps.castDifferentiable(x, DataType.FLOAT32) == x);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NativeOps.castDifferentiable(x, DataType.FLOAT64));
            assertTrue(e.getMessage().contains("FLOAT64"), e.getMessage());
            NDArray ids = m.create(new int[] {1, 2});
            e = assertThrows(IllegalArgumentException.class, () -> NativeOps.castDifferentiable(ids, DataType.FLOAT16));
            assertTrue(e.getMessage().contains("INT32"), e.getMessage());
        }
    }

    /** DJL reads dotted names as dictionary keys: an argument named like a parameter must still pass as a tensor. */
    @Test
    void argumentNamesAreNeitherMisreadNorLost() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(new float[] {1f, 2f});
            x.setName("bert.encoder.layer.0.attention.self.query.weight");
            NDArray y = NativeOps.castDifferentiable(x, DataType.FLOAT16);
            assertEquals(new Shape(2), y.getShape());
            assertEquals("bert.encoder.layer.0.attention.self.query.weight", x.getName());
            NDArray qkv = m.create(new float[] {1f, 2f, 3f, 4f}, new Shape(1, 2, 2));
            qkv.setName("h.0.attn");
            NDArray out = NativeOps.scaledDotProductAttention(qkv, qkv, qkv, null, false);
            assertEquals(new Shape(1, 2, 2), out.getShape());
            assertEquals("h.0.attn", qkv.getName(), "an array passed three times keeps its name");
        }
    }

    /** Every one of the 65,536 bit patterns: float32 bits = bf16 bits << 16, NaN payloads included. */
    @Test
    void everyBf16BitPatternBecomesItsFloat32() {
        try (NDManager m = manager.newSubManager()) {
            int[] bits = new int[65536];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = i;
            }
            NDArray f = NativeOps.bf16BitsToFloat32(m.create(bits, new Shape(256, 256)));
            assertEquals(DataType.FLOAT32, f.getDataType());
            assertEquals(new Shape(256, 256), f.getShape());
            int[] raw = rawBits(f);
            for (int i = 0; i < bits.length; i++) {
                if (raw[i] != bits[i] << 16) {
                    throw new AssertionError(String.format("bits 0x%04X gave float bits 0x%08X", bits[i], raw[i]));
                }
            }
            // The same bits sign-extended (as an int16 read into an int) give the same floats.
            int[] signed = {(short) 0xBF80, (short) 0xFF80, (short) 0x8001};
            float[] got = NativeOps.bf16BitsToFloat32(m.create(signed)).toFloatArray();
            assertEquals(-1f, got[0]);
            assertEquals(Float.NEGATIVE_INFINITY, got[1]);
            assertEquals(Float.intBitsToFloat(0x80010000), got[2]);
        }
    }

    /** Little-endian byte pairs, as safetensors stores bfloat16: value i is bytes 2i (low) and 2i + 1 (high). */
    @Test
    void bf16BytesInFileOrderBecomeFloat32() {
        int[] patterns = {0x3F80, 0xC049, 0x0001, 0x7F81, 0xFF80, 0x8000};
        byte[] raw = new byte[patterns.length * 2];
        for (int i = 0; i < patterns.length; i++) {
            raw[2 * i] = (byte) patterns[i];
            raw[2 * i + 1] = (byte) (patterns[i] >>> 8);
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray bytes = m.create(java.nio.ByteBuffer.wrap(raw), new Shape(2, 6), DataType.UINT8);
            NDArray f = NativeOps.bf16BytesToFloat32(bytes);
            assertEquals(new Shape(2, 3), f.getShape());
            int[] got = rawBits(f);
            for (int i = 0; i < patterns.length; i++) {
                assertEquals(patterns[i] << 16, got[i], "value " + i);
            }
            NDArray odd = m.create(java.nio.ByteBuffer.wrap(new byte[3]), new Shape(3), DataType.UINT8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeOps.bf16BytesToFloat32(odd));
            assertTrue(e.getMessage().contains("(3)"), e.getMessage());
        }
    }

    @Test
    void bf16BitsMustComeAsInt32() {
        try (NDManager m = manager.newSubManager()) {
            NDArray bits = m.create(new long[] {0x3F80});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeOps.bf16BitsToFloat32(bits));
            assertTrue(e.getMessage().contains("INT32") && e.getMessage().contains("INT64"), e.getMessage());
        }
    }

    @Test
    void float32RoundsToBf16ToNearestEven() {
        int[] special = {
            0x00000000, 0x80000000, 0x7F800000, 0xFF800000, // zeros, infinities
            0x3F800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, // 1.0; tie to even (down); tie to even (up); above; below
            0x7F7FFFFF, 0x7F7F7FFF, 0xFF7FFFFF, // largest float rounds up to infinity; just below the tie; negative
            0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x00800000, 0x807FFFFF, // subnormals and the smallest normal
        };
        Random r = new Random(11);
        int[] in = new int[special.length + 200_000];
        System.arraycopy(special, 0, in, 0, special.length);
        for (int i = special.length; i < in.length; i++) {
            int v = r.nextInt();
            in[i] = Float.isNaN(Float.intBitsToFloat(v)) ? v & 0xBFFFFFFF : v; // NaNs are checked below
        }
        float[] x = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            x[i] = Float.intBitsToFloat(in[i]);
        }
        try (NDManager m = manager.newSubManager()) {
            int[] got = NativeOps.float32ToBf16Bits(m.create(x)).toIntArray();
            for (int i = 0; i < in.length; i++) {
                int want = roundToNearestEven(in[i]);
                if (got[i] != want) {
                    throw new AssertionError(String.format("0x%08X: want bf16 0x%04X, got 0x%04X", in[i], want, got[i]));
                }
            }
            // Every NaN, whatever its sign and payload, becomes PyTorch's quiet NaN 0x7FC0 (c10's BFloat16).
            float[] nans = {Float.NaN, Float.intBitsToFloat(0xFFC00001), Float.intBitsToFloat(0x7F800001)};
            assertArrayEquals(new int[] {0x7FC0, 0x7FC0, 0x7FC0}, NativeOps.float32ToBf16Bits(m.create(nans)).toIntArray());
            // A bf16 value survives the round trip through its bits unchanged.
            float[] exact = {1f, -0.5f, 3.140625f, Float.intBitsToFloat(0x00010000), -0f};
            NDArray back = NativeOps.bf16BitsToFloat32(NativeOps.float32ToBf16Bits(m.create(exact)));
            assertArrayEquals(rawBits(m.create(exact)), rawBits(back));
        }
    }

    /**
     * The Java reference: keep the upper 16 bits and round on the lower 16, up when above half, and on
     * an exact half only when that makes the kept part even. A carry out of the mantissa raises the
     * exponent (and turns the largest floats into infinity), as in IEEE rounding.
     */
    private static int roundToNearestEven(int floatBits) {
        int upper = floatBits >>> 16;
        int lower = floatBits & 0xFFFF;
        if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) == 1)) {
            upper++;
        }
        return upper & 0xFFFF;
    }

    private static int[] rawBits(NDArray f) {
        float[] v = f.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }

    @Test
    void float32ToBf16BitsRefusesIntegers() {
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = m.create(new int[] {1});
            assertThrows(IllegalArgumentException.class, () -> NativeOps.float32ToBf16Bits(ids));
        }
    }
}

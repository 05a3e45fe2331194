package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** NaN and infinities are counted per dtype from their IEEE bit patterns, and refused by default. */
class NonFiniteValuesTest {
    @TempDir
    Path dir;

    private static Tensor shorts(DType dtype, int... bits) {
        ByteBuffer b = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : bits) {
            b.putShort((short) v);
        }
        return new Tensor(dtype, new long[] {bits.length}, b.flip());
    }

    @Test
    void countsNanAndInfinitiesOfEveryFloatingDtype() {
        float[] f = {1f, Float.NaN, Float.POSITIVE_INFINITY, -0f, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, Float.MIN_VALUE};
        assertEquals(3, NonFiniteValues.count(Tensor.ofFloats(f, f.length)));
        // float16: 0x7c00 = +inf, 0xfc00 = -inf, 0x7e00 = NaN; 0x7bff = 65504 (largest finite), 0x3c00 = 1.
        assertEquals(3, NonFiniteValues.count(shorts(DType.F16, 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x3c00)));
        // bfloat16: 0x7f80 = +inf, 0xffc0 = NaN; 0x7f7f = largest finite, 0x3f80 = 1.
        assertEquals(2, NonFiniteValues.count(shorts(DType.BF16, 0x7f80, 0xffc0, 0x7f7f, 0x3f80)));
        ByteBuffer d = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putDouble(Double.NaN).putDouble(1e300)
                .putDouble(Double.NEGATIVE_INFINITY);
        assertEquals(2, NonFiniteValues.count(new Tensor(DType.F64, new long[] {3}, d.flip())));
        assertEquals(0, NonFiniteValues.count(shorts(DType.I16, 0x7c00, 0x7f80)), "integers hold no NaN");
    }

    @Test
    void baseWeightsWithNanAreRefusedByDefaultNamingTensorAndCount() throws IOException {
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("ok.weight", Tensor.ofFloats(new float[] {1f, 2f}, 2));
        w.put("bad.weight", Tensor.ofFloats(new float[] {Float.NaN, 0f, Float.POSITIVE_INFINITY}, 3));
        SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), w);
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> ShardedSafeTensors.readDirectory(dir));
        String m = e.getMessage();
        assertTrue(m.contains(ShardedSafeTensors.SINGLE_FILE) && m.contains("1 tensor hold 2 NaN or infinite values: "
                + "'bad.weight' (2 of 3)") && m.contains(NonFiniteValues.ALLOW_PROPERTY), m);

        System.setProperty(NonFiniteValues.ALLOW_PROPERTY, "true");
        try {
            Map<String, Tensor> read = ShardedSafeTensors.readDirectory(dir);
            assertTrue(Float.isNaN(read.get("bad.weight").toFloatArray()[0]), "allowed explicitly: loaded as stored");
        } finally {
            System.clearProperty(NonFiniteValues.ALLOW_PROPERTY);
        }
    }

    @Test
    void manyBadTensorsGiveAShortMessage() {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (int i = 0; i < 24; i++) {
            w.put("layer." + i + ".weight", Tensor.ofFloats(new float[] {Float.NaN}, 1));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NonFiniteValues.check("adapter", w));
        assertTrue(e.getMessage().startsWith("adapter: 24 tensors hold 24 NaN or infinite values: 'layer.0.weight' (1 of 1),"
                + " 'layer.1.weight' (1 of 1), 'layer.2.weight' (1 of 1), ..."), e.getMessage());
        assertTrue(e.getMessage().length() < 300, e.getMessage());
    }
}

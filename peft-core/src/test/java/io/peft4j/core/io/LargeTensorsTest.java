package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Tensors over 2 GiB and over 2^29 elements, without using 2 GiB of memory or disk: a sparse file
 * whose header declares such a tensor is read through windowed mappings and checked at its start,
 * across a window boundary and at its end against the bytes this test wrote there. The windowed
 * paths (assembling NDArrays, widening bfloat16, streaming writes) are also run on small tensors
 * with tiny windows and chunks, and compared bit for bit with values computed here.
 */
class LargeTensorsTest {
    @TempDir
    Path dir;

    /** Writes a safetensors header for the given JSON and returns the data start. */
    private static long writeHeader(RandomAccessFile f, String json) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(h);
        while (b.hasRemaining()) {
            b.put((byte) ' ');
        }
        f.seek(0);
        f.write(b.array());
        return 8 + padded;
    }

    private static byte[] pattern(int n, int seed) {
        byte[] out = new byte[n];
        new Random(seed).nextBytes(out);
        return out;
    }

    private static byte[] array(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void aSparseTensorOver2GiBAnd2To29ElementsReadsAtItsStartBoundaryAndEnd() throws IOException {
        long elements = (1L << 30) + 4; // float16: 2 GiB + 8 bytes; widened to float32 it would be 4 GiB
        long bigBytes = elements * 2;
        String json = "{\"big\":{\"dtype\":\"F16\",\"shape\":[" + elements + "],\"data_offsets\":[0," + bigBytes + "]},"
                + "\"after\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + bigBytes + "," + (bigBytes + 8) + "]}}";
        Path file = dir.resolve("big.safetensors");
        byte[] head = pattern(16, 1);
        byte[] boundary = pattern(16, 2);
        byte[] tail = pattern(16, 3);
        long window = SafeTensors.DEFAULT_WINDOW_BYTES;
        ByteBuffer after = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.25f).putFloat(-3f);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long start = writeHeader(f, json);
            f.setLength(start + bigBytes + 8); // sparse: the holes take no disk
            f.seek(start);
            f.write(head);
            f.seek(start + window - 8);
            f.write(boundary);
            f.seek(start + bigBytes - 16);
            f.write(tail);
            f.seek(start + bigBytes);
            f.write(after.array());
        }
        SafeTensorsFile read = SafeTensors.read(file);
        Tensor big = read.get("big");
        assertEquals(elements, big.numel());
        assertEquals(bigBytes, big.byteSize());
        assertArrayEquals(head, array(big.bytes(0, 16)));
        assertArrayEquals(boundary, array(big.bytes(window - 8, 16)), "a slice across two mapped windows");
        assertArrayEquals(tail, array(big.bytes(bigBytes - 16, 16)));
        assertArrayEquals(new byte[16], array(big.bytes(bigBytes / 4, 16)), "a hole reads as zeros");
        IllegalStateException e = assertThrows(IllegalStateException.class, big::data);
        assertTrue(e.getMessage().contains("2 GiB"), e.getMessage());
        assertArrayEquals(new float[] {1.25f, -3f}, read.get("after").toFloatArray(), 0f,
                "a tensor stored after 2 GiB of data");
    }

    @Test
    void windowedTensorsLoadAsTheirValues() throws IOException {
        Random r = new Random(7);
        float[] f32 = new float[1003];
        for (int i = 0; i < f32.length; i++) {
            f32[i] = (float) r.nextGaussian();
        }
        short[] bf16 = new short[517];
        float[] bf16Wide = new float[bf16.length];
        for (int i = 0; i < bf16.length; i++) {
            bf16[i] = (short) (Float.floatToIntBits((float) r.nextGaussian()) >>> 16);
            bf16Wide[i] = Float.intBitsToFloat((bf16[i] & 0xFFFF) << 16); // bfloat16 is float32's top half
        }
        ByteBuffer bf = ByteBuffer.allocate(bf16.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : bf16) {
            bf.putShort(s);
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("f32", Tensor.ofFloats(f32, 17, 59));
        in.put("bf16", new Tensor(DType.BF16, new long[] {11, 47}, bf.flip()));
        Path file = dir.resolve("w.safetensors");
        SafeTensors.write(file, in);

        SafeTensorsFile read = SafeTensors.read(file, 64); // 64-byte windows: 63 for f32, 17 for bf16
        try (NDManager m = Compute.newManager()) {
            NDArray a = read.get("f32").toNDArray(m);
            assertEquals(new Shape(17, 59), a.getShape());
            assertArrayEquals(f32, a.toFloatArray(), 0f);
            NDArray b = read.get("bf16").toFloat32NDArray(m, 50); // widened 50 elements at a time
            assertEquals(new Shape(11, 47), b.getShape());
            assertArrayEquals(bf16Wide, b.toFloatArray(), 0f);
        }
        // Written again from the windows: the same file, byte for byte.
        Path again = dir.resolve("again.safetensors");
        SafeTensors.write(again, read.tensors());
        assertEquals(-1, Files.mismatch(file, again));
    }

    @Test
    void arrayViewsStreamInChunksBitExactAndLeaveNothingInTheArraysManager() throws IOException {
        try (NDManager m = Compute.newManager()) {
            Random r = new Random(3);
            float[] f = new float[300];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) r.nextGaussian();
            }
            f[5] = Float.intBitsToFloat(0x7fc00123); // a NaN payload must survive too
            long[] longs = r.longs(70).toArray();
            byte[] u8 = pattern(33, 9);
            NDArray weights = m.create(f, new Shape(20, 15));
            NDArray transposed = weights.transpose(); // not contiguous: written in its logical order
            NDArray half = weights.toType(DataType.FLOAT16, false);
            NDArray ints = m.create(longs, new Shape(7, 10));
            NDArray bytes = m.create(ByteBuffer.wrap(u8), new Shape(33), DataType.UINT8);
            int before = m.getManagedArrays().size();

            Map<String, Tensor> views = new LinkedHashMap<>();
            views.put("w", Tensor.view(weights, 64)); // 16 floats a chunk
            views.put("wt", Tensor.view(transposed, 40));
            views.put("h", Tensor.view(half, 24));
            views.put("i", Tensor.view(ints, 16));
            views.put("u", Tensor.view(bytes, 8));
            Path file = dir.resolve("views.safetensors");
            SafeTensors.write(file, views);
            assertEquals(before, m.getManagedArrays().size(), "arrays left in the manager by the write");

            SafeTensorsFile read = SafeTensors.read(file);
            assertArrayEquals(toBytes(f), array(read.get("w").data()));
            float[] ft = new float[f.length];
            for (int row = 0; row < 20; row++) {
                for (int col = 0; col < 15; col++) {
                    ft[col * 20 + row] = f[row * 15 + col];
                }
            }
            assertArrayEquals(toBytes(ft), array(read.get("wt").data()));
            assertArrayEquals(new long[] {15, 20}, read.get("wt").shape());
            assertArrayEquals(array(half.toByteBuffer()), array(read.get("h").data()));
            ByteBuffer lb = ByteBuffer.allocate(longs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long l : longs) {
                lb.putLong(l);
            }
            assertArrayEquals(lb.array(), array(read.get("i").data()));
            assertArrayEquals(u8, array(read.get("u").data()));
            // A slice of a view reads across chunk borders.
            assertArrayEquals(java.util.Arrays.copyOfRange(toBytes(f), 60, 90), array(Tensor.view(weights, 64).bytes(60, 30)));
        }
    }

    @Test
    void aFailedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        Path file = dir.resolve("adapter.safetensors");
        Path fresh = dir.resolve("fresh.safetensors");
        SafeTensors.write(file, Map.of("old", Tensor.ofFloats(new float[] {1f, 2f}, 2)));
        byte[] old = Files.readAllBytes(file);
        try (NDManager m = Compute.newManager()) {
            NDArray good = m.create(new float[] {3f, 4f});
            NDArray gone = m.create(new float[] {5f, 6f});
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("good", Tensor.view(good));
            tensors.put("gone", Tensor.view(gone));
            gone.close(); // its bytes can no longer be read: the write fails after the first tensor
            assertThrows(RuntimeException.class, () -> SafeTensors.write(file, tensors));
            assertThrows(RuntimeException.class, () -> SafeTensors.write(fresh, tensors));
        }
        assertArrayEquals(old, Files.readAllBytes(file), "the old file is untouched");
        assertTrue(Files.notExists(fresh), "no new file");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left beside the target");
        }
    }

    private static byte[] toBytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putInt(Float.floatToRawIntBits(x));
        }
        return b.array();
    }
}

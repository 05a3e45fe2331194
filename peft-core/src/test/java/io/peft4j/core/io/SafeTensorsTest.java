package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

class SafeTensorsTest {
    @TempDir
    Path dir;

    private static Tensor bytes(DType dtype, long[] shape, int seed) {
        int n = (int) (Tensor.numel(shape) * dtype.byteSize());
        ByteBuffer b = ByteBuffer.allocate(n);
        for (int i = 0; i < n; i++) {
            b.put((byte) (i * 31 + seed));
        }
        return new Tensor(dtype, shape, b.flip());
    }

    @Test
    void roundTripsEveryDtypeAndMetadataBitExact() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("f32", Tensor.ofFloats(new float[] {1.5f, -2f, 3.25f, 0f, 1e-8f, -7f}, 2, 3));
        in.put("f16", bytes(DType.F16, new long[] {4, 2}, 1));
        in.put("bf16", bytes(DType.BF16, new long[] {3}, 2));
        in.put("i64", bytes(DType.I64, new long[] {2, 2}, 3));
        in.put("i32", bytes(DType.I32, new long[] {5}, 4));
        in.put("u8", bytes(DType.U8, new long[] {7}, 5));
        in.put("scalar", bytes(DType.F32, new long[] {}, 6));
        in.put("empty", bytes(DType.F32, new long[] {0, 3}, 7));
        Path file = dir.resolve("t.safetensors");
        SafeTensors.write(file, in, Map.of("format", "pt", "note", "peft4j"));

        SafeTensorsFile out = SafeTensors.read(file);
        assertEquals(Map.of("format", "pt", "note", "peft4j"), out.metadata());
        assertEquals(in.keySet(), out.tensors().keySet());
        for (String name : in.keySet()) {
            Tensor a = in.get(name);
            Tensor b = out.get(name);
            assertEquals(a.dtype(), b.dtype(), name);
            assertArrayEquals(a.shape(), b.shape(), name);
            assertEquals(a.data(), b.data(), name + " bytes");
        }
        // The header is padded so the data buffer starts 8-byte aligned.
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8);
    }

    @Test
    void writeIsAtomicAndLeavesNoTempFiles() throws IOException {
        Path file = dir.resolve("a.safetensors");
        SafeTensors.write(file, Map.of("x", Tensor.ofFloats(new float[] {1}, 1)));
        SafeTensors.write(file, Map.of("y", Tensor.ofFloats(new float[] {2, 3}, 2)));
        assertEquals(List.of("y"), List.copyOf(SafeTensors.read(file).tensors().keySet()));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "only the target file remains");
        }
    }

    @Test
    void shardedCheckpointRoundTripsThroughIndex() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            in.put("layer." + i + ".weight", Tensor.ofFloats(new float[] {i, i + 1, i + 2, i + 3}, 2, 2));
        }
        ShardedSafeTensors.writeSharded(dir, in, 40); // 16 bytes each: two per shard
        assertTrue(Files.exists(dir.resolve("model-00001-of-00003.safetensors")));
        assertTrue(Files.exists(dir.resolve("model-00003-of-00003.safetensors")));
        Map<String, Tensor> out = ShardedSafeTensors.readDirectory(dir);
        assertEquals(in.keySet(), out.keySet());
        for (String k : in.keySet()) {
            assertArrayEquals(in.get(k).toFloatArray(), out.get(k).toFloatArray(), k);
        }
    }

    @Test
    void shardIndexNamingAMissingTensorFails() throws IOException {
        ShardedSafeTensors.writeSharded(dir, Map.of("a", Tensor.ofFloats(new float[] {1}, 1)), 1000);
        Path index = dir.resolve(ShardedSafeTensors.INDEX_FILE);
        Files.writeString(index, "{\"weight_map\": {\"a\": \"model-00001-of-00001.safetensors\","
                + " \"b\": \"model-00001-of-00001.safetensors\"}}");
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> ShardedSafeTensors.readDirectory(dir));
        assertTrue(e.getMessage().contains("missing") && e.getMessage().contains("b"), e.getMessage());
    }

    // ---- malformed files: each fails with the file name and the fault ----

    private Path raw(String header, byte[] data, Long declaredLength) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength == null ? h.length : declaredLength).put(h).put(data);
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, b.array());
        return file;
    }

    private void assertFails(Path file, String expectedFragment) {
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expectedFragment), "says '" + expectedFragment + "': " + e.getMessage());
    }

    @Test
    void fileShorterThanLengthPrefix() throws IOException {
        Path file = dir.resolve("tiny.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertFails(file, "too short");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        assertFails(raw("{}", new byte[0], 1_000_000L), "header length 1000000 goes beyond the file");
    }

    @Test
    void headerLengthNegativeAsUnsigned() throws IOException {
        assertFails(raw("{}", new byte[0], -5L), "exceeds the 100000000-byte limit");
    }

    @Test
    void headerIsNotJson() throws IOException {
        assertFails(raw("{\"a\": [1, 2", new byte[0], null), "not valid JSON");
    }

    @Test
    void headerIsNotAnObject() throws IOException {
        assertFails(raw("[1, 2, 3]", new byte[0], null), "not a JSON object");
    }

    @Test
    void unknownDtype() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1], null), "unknown or missing dtype");
    }

    @Test
    void offsetsReversed() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", new byte[4], null), "data_offsets out of range");
    }

    @Test
    void offsetsOverlap() throws IOException {
        String h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}";
        assertFails(raw(h, new byte[6], null), "overlap");
    }

    @Test
    void offsetsLeaveAGap() throws IOException {
        String h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}";
        assertFails(raw(h, new byte[6], null), "gap");
    }

    @Test
    void offsetsNegative() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", new byte[1], null), "non-negative integer");
    }

    @Test
    void dtypeAndShapeDisagreeWithByteSize() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[12], null),
                "need 16 bytes but data_offsets span 12");
    }

    @Test
    void truncatedData() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[10], null),
                "truncated data: the header declares 16 data bytes but only 10");
    }

    @Test
    void trailingBytesNotIndexed() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[5], null), "trailing bytes");
    }

    @Test
    void missingShape() throws IOException {
        assertFails(raw("{\"t\":{\"dtype\":\"U8\",\"data_offsets\":[0,2]}}", new byte[2], null), "'shape' must be an array");
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        assertFails(raw("{\"__metadata__\":{\"n\":3}}", new byte[0], null), "is not a string");
    }

    @Test
    void truncatedRealFileFails() throws IOException {
        Path file = dir.resolve("real.safetensors");
        SafeTensors.write(file, Map.of("w", Tensor.ofFloats(new float[64], 8, 8)));
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 100));
        assertFails(file, "truncated data");
    }
}

package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.core.Compute;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Headers the reference implementation (Rust safetensors + serde_json) rejects are rejected here
 * too, with a {@link TensorFormatException} naming the file; what it accepts is accepted.
 */
class SafeTensorsHostileTest {
    @TempDir
    Path dir;

    private Path raw(byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        Path file = dir.resolve("hostile.safetensors");
        Files.write(file, b.array());
        return file;
    }

    private Path raw(String header, byte[] data) throws IOException {
        return raw(header.getBytes(StandardCharsets.UTF_8), data);
    }

    private static TensorFormatException rejects(Path file, String fragment) {
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "says '" + fragment + "': " + e.getMessage());
        return e;
    }

    private static final String ONE = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";

    @Test
    void trailingGarbageAfterTheJsonHeaderIsRejected() throws IOException {
        rejects(raw(ONE + "xx", new byte[2]), "only whitespace");
        rejects(raw(ONE + "{}", new byte[2]), "whitespace");
        rejects(raw((ONE + "\0\0").getBytes(StandardCharsets.UTF_8), new byte[2]), "whitespace");
    }

    @Test
    void jsonWhitespacePaddingIsAcceptedAsSerdeJsonDoes() throws IOException {
        SafeTensorsFile f = SafeTensors.read(raw(ONE + "  \n\t\r ", new byte[] {7, 9}));
        assertArrayEquals(new byte[] {7, 9}, bytesOf(f.get("a")));
    }

    @Test
    void invalidUtf8InATensorNameIsRejected() throws IOException {
        byte[] header = ONE.replace("\"a\"", "\"a#\"").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < header.length; i++) {
            if (header[i] == '#') {
                header[i] = (byte) 0xC3; // a UTF-8 lead byte followed by '"': a broken sequence
            }
        }
        rejects(raw(header, new byte[2]), "not valid UTF-8");
    }

    @Test
    void duplicateKeysAreRejected() throws IOException {
        String dup = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}";
        rejects(raw(dup, new byte[2]), "Duplicate field 'a'");
    }

    @Test
    void overflowingShapeNamesTheTensorNotArithmeticException() throws IOException {
        String h = "{\"big\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}";
        rejects(raw(h, new byte[4]), "tensor 'big': shape [1099511627776, 1099511627776] of F32 overflows");
    }

    @Test
    void headerOverTheReferenceLimitIsRejectedBeforeAnythingIsRead() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).putLong(0);
        Path file = dir.resolve("huge-header.safetensors");
        Files.write(file, b.array());
        rejects(file, "exceeds the 100000000-byte limit");
    }

    @Test
    void emptyTensorsAreValidEvenWithAnOverflowingProductOrASharedOffset() throws IOException {
        // Zero elements: [0, 2^62, 2^62] holds no byte. 'e' sits at offset 2, where 'b' begins: both orders.
        String h = "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,4611686018427387904],\"data_offsets\":[2,2]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}";
        SafeTensorsFile f = SafeTensors.read(raw(h, new byte[] {1, 2, 3}));
        assertEquals(0, f.get("z").numel());
        assertEquals(0, f.get("e").byteSize());
        assertArrayEquals(new byte[] {3}, bytesOf(f.get("b")));
        assertArrayEquals(new byte[] {1, 2}, bytesOf(f.get("a")));
    }

    @Test
    void seventyThousandTinyTensorsShareOneOpenFile() throws IOException {
        // One memory mapping per tensor would exceed vm.max_map_count (65,530 by default) and abort the JVM.
        int n = 70_000;
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            in.put("t" + i, Tensor.ofFloats(new float[] {i}, 1));
        }
        Path file = dir.resolve("many.safetensors");
        SafeTensors.write(file, in);
        SafeTensorsFile f = SafeTensors.read(file);
        assertEquals(n, f.tensors().size());
        for (int i : new int[] {0, 1, 34_567, n - 1}) {
            assertEquals(i, f.get("t" + i).toFloatArray()[0], 0f, "t" + i + " holds its index, written exactly");
        }
    }

    @Test
    void int16TensorsAreWidenedToInt32InJava() throws IOException {
        short[] values = {Short.MIN_VALUE, -2, -1, 0, 1, 1234, Short.MAX_VALUE};
        ByteBuffer data = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) {
            data.putShort(v);
        }
        String h = "{\"s\":{\"dtype\":\"I16\",\"shape\":[7],\"data_offsets\":[0,14]}}";
        Tensor t = SafeTensors.read(raw(h, data.array())).get("s");
        assertEquals(DType.I32, t.dtype());
        try (NDManager m = Compute.newManager()) {
            NDArray a = t.toNDArray(m);
            assertEquals(DataType.INT32, a.getDataType());
            int[] expected = {-32768, -2, -1, 0, 1, 1234, 32767};
            assertArrayEquals(expected, a.toIntArray(), "sign-extended, exactly");
        }
    }

    private static byte[] bytesOf(Tensor t) {
        ByteBuffer b = t.data();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (b.hasRemaining()) {
            out.write(b.get());
        }
        return out.toByteArray();
    }
}

package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header,
 * then one contiguous byte buffer). Written by hand because no Java library on Maven Central
 * implements it; the format is small and fully specified by the safetensors project.
 *
 * <p>A read validates the whole header against the file before returning any tensor, so a
 * malformed file fails as a unit with a {@link TensorFormatException} naming the file and fault.
 */
public final class SafeTensors {
    static final String METADATA_KEY = "__metadata__";
    /** The reference implementation refuses headers above 100 MB; so do we. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /**
     * The largest piece of a tensor mapped at once: one mapping cannot exceed 2 GiB, so larger tensors
     * are mapped in windows of this size (a multiple of every element size).
     */
    static final long DEFAULT_WINDOW_BYTES = 1L << 30;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /** Reads every tensor of a file. Tensor data are memory-mapped, not copied onto the heap. */
    public static SafeTensorsFile read(Path file) throws IOException {
        return read(file, DEFAULT_WINDOW_BYTES);
    }

    /** As {@link #read(Path)}, mapping tensors in windows of {@code windowBytes} (a multiple of 8). */
    static SafeTensorsFile read(Path file, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes % 8 != 0 || windowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("window must be a positive multiple of 8 below 2 GiB, got " + windowBytes);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new TensorFormatException(file, "file is " + fileSize + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 0 || headerLen > fileSize - 8) {
                throw new TensorFormatException(file, "header length " + Long.toUnsignedString(headerLen)
                        + " goes beyond the file (" + fileSize + " bytes)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new TensorFormatException(file, "header length " + headerLen + " exceeds the 100 MB limit");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, file);
            String headerText = new String(headerBuf.array(), StandardCharsets.UTF_8);
            JsonNode header;
            try {
                header = JSON.readTree(headerText);
            } catch (JsonProcessingException e) {
                throw new TensorFormatException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (header == null || !header.isObject()) {
                throw new TensorFormatException(file, "header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            Map<String, String> metadata = parseMetadata(file, header.get(METADATA_KEY));
            List<Entry> entries = parseEntries(file, header);
            checkLayout(file, entries, dataSize);

            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) {
                List<ByteBuffer> windows = new ArrayList<>();
                long size = e.end - e.begin;
                for (long at = 0; at < size || windows.isEmpty(); at += windowBytes) {
                    windows.add(ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin + at,
                            Math.min(windowBytes, size - at)));
                }
                tensors.put(e.name, new Tensor(e.dtype, e.shape, new BufferWindows(windows)));
            }
            return new SafeTensorsFile(tensors, metadata);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new TensorFormatException(file, "unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) throws TensorFormatException {
        Map<String, String> metadata = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return metadata;
        }
        if (!node.isObject()) {
            throw new TensorFormatException(file, "__metadata__ must be an object of strings");
        }
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw new TensorFormatException(file, "__metadata__ value for '" + f.getKey() + "' is not a string");
            }
            metadata.put(f.getKey(), f.getValue().asText());
        }
        return metadata;
    }

    private static final class Entry {
        final String name;
        final DType dtype;
        final long[] shape;
        final long begin;
        final long end;

        Entry(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }
    }

    private static List<Entry> parseEntries(Path file, JsonNode header) throws TensorFormatException {
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            if (METADATA_KEY.equals(name)) {
                continue;
            }
            JsonNode info = f.getValue();
            if (!info.isObject()) {
                throw new TensorFormatException(file, "tensor '" + name + "': header entry is not an object");
            }
            JsonNode dtypeNode = info.get("dtype");
            DType dtype = dtypeNode == null ? null : DType.parse(dtypeNode.asText());
            if (dtype == null) {
                throw new TensorFormatException(file, "tensor '" + name + "': unknown or missing dtype " + dtypeNode);
            }
            long[] shape = longs(file, name, "shape", info.get("shape"), -1);
            long[] offsets = longs(file, name, "data_offsets", info.get("data_offsets"), 2);
            long begin = offsets[0];
            long end = offsets[1];
            if (begin > end) {
                throw new TensorFormatException(file, "tensor '" + name + "': data_offsets out of range, begin "
                        + begin + " > end " + end);
            }
            long expected;
            try {
                expected = Math.multiplyExact(Tensor.numel(shape), dtype.byteSize());
            } catch (ArithmeticException e) {
                throw new TensorFormatException(file, "tensor '" + name + "': shape overflows");
            }
            if (end - begin != expected) {
                throw new TensorFormatException(file, "tensor '" + name + "': dtype " + dtype + " and shape "
                        + java.util.Arrays.toString(shape) + " need " + expected + " bytes but data_offsets span "
                        + (end - begin));
            }
            entries.add(new Entry(name, dtype, shape, begin, end));
        }
        entries.sort((a, b) -> Long.compare(a.begin, b.begin));
        return entries;
    }

    private static long[] longs(Path file, String tensor, String field, JsonNode node, int arity)
            throws TensorFormatException {
        if (node == null || !node.isArray() || (arity >= 0 && node.size() != arity)) {
            throw new TensorFormatException(file, "tensor '" + tensor + "': '" + field + "' must be an array"
                    + (arity >= 0 ? " of " + arity + " integers" : " of integers"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
                throw new TensorFormatException(file, "tensor '" + tensor + "': '" + field
                        + "' holds " + v + ", expected a non-negative integer");
            }
            out[i] = v.asLong();
        }
        return out;
    }

    /** The byte buffer must be covered exactly once: no gaps, no overlap, nothing past its end. */
    private static void checkLayout(Path file, List<Entry> entries, long dataSize) throws TensorFormatException {
        long expectedBegin = 0;
        for (Entry e : entries) {
            if (e.begin != expectedBegin) {
                throw new TensorFormatException(file, "tensor '" + e.name + "': data_offsets out of range, begins at "
                        + e.begin + " where the previous tensor ended at " + expectedBegin
                        + (e.begin < expectedBegin ? " (overlap)" : " (gap)"));
            }
            expectedBegin = e.end;
        }
        if (expectedBegin > dataSize) {
            throw new TensorFormatException(file, "truncated data: the header declares " + expectedBegin
                    + " data bytes but only " + dataSize + " follow the header");
        }
        if (expectedBegin < dataSize) {
            throw new TensorFormatException(file, (dataSize - expectedBegin)
                    + " trailing bytes after the last tensor: the header does not index the whole buffer");
        }
    }

    /**
     * Writes tensors and metadata atomically: the target either keeps its old contents or gets all
     * new ones. Each tensor's bytes are streamed to the file (from the memory map, the heap, or, for
     * {@link Tensor#view} tensors, the NDArray's native memory in chunks), never gathered first.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (METADATA_KEY.equals(e.getKey())) {
                throw new IllegalArgumentException("'" + METADATA_KEY + "' is reserved and cannot name a tensor");
            }
            Tensor t = e.getValue();
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", t.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            ArrayNode offs = info.putArray("data_offsets");
            offs.add(offset);
            offset += t.byteSize();
            offs.add(offset);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFiles.writeChannel(file, ch -> {
            writeAll(ch, head);
            for (Tensor t : tensors.values()) {
                t.writeTo(ch);
            }
        });
    }

    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    private static void writeAll(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}

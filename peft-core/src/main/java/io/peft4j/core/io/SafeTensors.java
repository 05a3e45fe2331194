package io.peft4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
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
    /** The reference implementation refuses headers above 100,000,000 bytes; so do we. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /**
     * The largest piece of an NDArray's bytes gathered in one Java buffer (which cannot exceed 2 GiB):
     * a multiple of every element size.
     */
    static final long DEFAULT_WINDOW_BYTES = 1L << 30;

    /**
     * The most bytes of a file tensor read at once into a direct buffer for libtorch: direct memory
     * is capped (by default at the heap size), so a large tensor is read in several pieces.
     */
    static final long READ_WINDOW_BYTES = 256L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /**
     * Reads every tensor of a file. The header is validated whole; tensor bytes stay in the file and are
     * read (one open channel per file, see {@link OpenTensorFile}) when used, so a file truncated later
     * gives a {@link TensorFormatException} wrapped in an {@link java.io.UncheckedIOException}, never SIGBUS.
     * I16 tensors, which DJL's engine cannot hold, are widened to I32 here.
     */
    public static SafeTensorsFile read(Path file) throws IOException {
        return read(file, READ_WINDOW_BYTES);
    }

    /** As {@link #read(Path)}, handing tensors to libtorch in pieces of {@code windowBytes} (a multiple of 8). */
    static SafeTensorsFile read(Path file, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes % 8 != 0 || windowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("window must be a positive multiple of 8 below 2 GiB, got " + windowBytes);
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        boolean kept = false;
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new TensorFormatException(file, "file is " + fileSize + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new TensorFormatException(file, "header length " + Long.toUnsignedString(headerLen)
                        + " exceeds the " + MAX_HEADER_BYTES + "-byte limit of the safetensors format");
            }
            if (headerLen > fileSize - 8) {
                throw new TensorFormatException(file, "header length " + headerLen
                        + " goes beyond the file (" + fileSize + " bytes)");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, file);
            JsonNode header = SafeTensorsHeader.parse(file, headerBuf.array());
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            Map<String, String> metadata = parseMetadata(file, header.get(METADATA_KEY));
            List<Entry> entries = parseEntries(file, header);
            checkLayout(file, entries, dataSize);

            OpenTensorFile open = new OpenTensorFile(file, ch, dataStart);
            kept = true;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) {
                FileRegion region = new FileRegion(open, e.name, e.begin, e.end - e.begin, windowBytes);
                Tensor t = new Tensor(e.dtype, e.shape, region);
                tensors.put(e.name, e.dtype == DType.I16 ? widenI16(file, e.name, t) : t);
            }
            return new SafeTensorsFile(tensors, metadata);
        } finally {
            if (!kept) {
                ch.close();
            }
        }
    }

    /**
     * DJL 0.35's PyTorch bridge aborts the JVM on an INT16 array, so I16 becomes I32 (exact for every
     * value) in Java. I16 tensors are rare (no weight is stored so), so the copy is on the heap.
     */
    private static Tensor widenI16(Path file, String name, Tensor t) throws TensorFormatException {
        long n = t.numel();
        if (n > (Integer.MAX_VALUE - 8) / 4) {
            throw new TensorFormatException(file, "tensor '" + name + "': I16 with " + n
                    + " elements is too large to widen to I32 in memory");
        }
        ByteBuffer src = t.data();
        ByteBuffer wide = ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN);
        while (src.hasRemaining()) {
            wide.putInt(src.getShort());
        }
        return new Tensor(DType.I32, t.shape(), wide.flip());
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
                throw new TensorFormatException(file, "tensor '" + name + "': shape "
                        + java.util.Arrays.toString(shape) + " of " + dtype + " overflows a 64-bit byte count");
            }
            if (end - begin != expected) {
                throw new TensorFormatException(file, "tensor '" + name + "': dtype " + dtype + " and shape "
                        + java.util.Arrays.toString(shape) + " need " + expected + " bytes but data_offsets span "
                        + (end - begin));
            }
            entries.add(new Entry(name, dtype, shape, begin, end));
        }
        // By begin, then end, as the reference does: an empty tensor sharing its offset with the next one
        // comes first and is not mistaken for an overlap.
        entries.sort(java.util.Comparator.<Entry>comparingLong(a -> a.begin).thenComparingLong(a -> a.end));
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

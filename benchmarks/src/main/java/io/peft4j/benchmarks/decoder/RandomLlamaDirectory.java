package io.peft4j.benchmarks.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.model.llama.LlamaCheckpoint;
import io.peft4j.core.model.llama.LlamaConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a Llama-family transformers directory with random weights ({@code config.json} and
 * {@code model.safetensors}, or shards with {@code model.safetensors.index.json}) in bfloat16 (or
 * float32, for loaders without bfloat16), as {@code save_pretrained} lays it out. The data is generated and written a chunk at a time
 * straight into the file, so a 1.1B model never sits on the heap. Weights are normal(0, 0.02) like
 * transformers' initialization, norm weights one, biases zero.
 *
 * <p>Written by hand rather than with {@code SafeTensors.write}: that writer takes whole tensors, which
 * would mean holding every tensor of the model in memory first. The directory appears by one rename
 * when complete; an existing one with the same {@code config.json} is reused.
 */
public final class RandomLlamaDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(RandomLlamaDirectory.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** transformers' default {@code max_shard_size} of {@code save_pretrained} ("5GB", decimal). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;
    /** Elements generated per chunk: 4 MB of float32, small enough to leave the heap alone. */
    private static final int CHUNK = 1 << 20;
    private static final double STD = 0.02;

    private RandomLlamaDirectory() {}

    /**
     * The directory {@code root/name}, written unless it already holds this config in this dtype.
     * @return the directory
     */
    public static Path ensure(Path root, String name, LlamaConfig config, DType dtype, long maxShardBytes, long seed)
            throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("checkpoint dtype must be BF16 or F32, got " + dtype);
        }
        Path dir = root.resolve(name);
        String configJson = configJson(config, dtype);
        Path existing = dir.resolve("config.json");
        if (Files.isRegularFile(existing) && Files.readString(existing).equals(configJson)) {
            LOG.info("Reusing {} ({})", dir, dtype);
            return dir;
        }
        if (Files.exists(dir)) {
            FileTrees.delete(dir);
        }
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, "." + name + "-");
        try {
            long t0 = System.nanoTime();
            writeWeights(tmp, config, dtype, maxShardBytes, seed);
            AtomicFiles.writeString(tmp.resolve("config.json"), configJson);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
            LOG.info("Wrote {} ({}) in {} s", dir, dtype, String.format("%.1f", (System.nanoTime() - t0) / 1e9));
            return dir;
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.delete(tmp);
            }
        }
    }

    /** The config as transformers writes it, with {@code torch_dtype} naming the stored dtype. */
    static String configJson(LlamaConfig config, DType dtype) throws IOException {
        ObjectNode n = (ObjectNode) JSON.readTree(config.toJson());
        n.put("torch_dtype", torchDtype(dtype));
        return n.toPrettyString();
    }

    private static String torchDtype(DType dtype) {
        return dtype == DType.BF16 ? "bfloat16" : "float32";
    }

    private static void writeWeights(Path dir, LlamaConfig config, DType dtype, long maxShardBytes, long seed)
            throws IOException {
        Map<String, long[]> shapes = LlamaCheckpoint.expectedShapes(config);
        List<Map<String, long[]>> shards = new ArrayList<>();
        Map<String, long[]> current = new LinkedHashMap<>();
        long currentBytes = 0;
        long total = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = numel(e.getValue()) * dtype.byteSize();
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        List<String> names = new ArrayList<>(shapes.keySet());
        if (shards.size() == 1) {
            writeShard(dir.resolve(ShardedSafeTensors.SINGLE_FILE), current, dtype, names, seed);
            return;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeShard(dir.resolve(file), shards.get(i), dtype, names, seed);
            shards.get(i).keySet().forEach(t -> weightMap.put(t, file));
        }
        AtomicFiles.writeString(dir.resolve(ShardedSafeTensors.INDEX_FILE), index.toPrettyString());
    }

    /** One safetensors file: 8-byte little-endian header length, the JSON header padded to 8 bytes, the data. */
    private static void writeShard(Path file, Map<String, long[]> tensors, DType dtype, List<String> allNames, long seed)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, long[]> e : tensors.entrySet()) {
            long end = offset + numel(e.getValue()) * dtype.byteSize();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype.name());
            long[] shape = e.getValue();
            for (long d : shape) {
                t.withArray("shape").add(d);
            }
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFiles.writeChannel(file, ch -> {
            writeFully(ch, head);
            for (Map.Entry<String, long[]> e : tensors.entrySet()) {
                // Seeded by the tensor's index in the whole model, so shard size does not change the values.
                writeTensor(ch, e.getKey(), numel(e.getValue()), dtype, seed * 1_000_003L + allNames.indexOf(e.getKey()));
            }
        });
    }

    private static void writeTensor(WritableByteChannel ch, String name, long numel, DType dtype, long seed)
            throws IOException {
        Fill fill = name.endsWith("norm.weight") ? Fill.ONES : name.endsWith(".bias") ? Fill.ZEROS : Fill.NORMAL;
        int chunks = (int) ((numel + CHUNK - 1) / CHUNK);
        int parallel = Math.max(1, Runtime.getRuntime().availableProcessors());
        ByteBuffer[] buffers = new ByteBuffer[parallel];
        // Chunks are generated in parallel (Gaussians dominate the time), in groups, then written in order.
        for (int first = 0; first < chunks; first += parallel) {
            int from = first;
            int n = Math.min(parallel, chunks - first);
            IntStream.range(0, n).parallel().forEach(k -> {
                long start = (long) (from + k) * CHUNK;
                int len = (int) Math.min(CHUNK, numel - start);
                if (buffers[k] == null) {
                    buffers[k] = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
                }
                fillChunk(buffers[k], len, fill, dtype, new SplittableRandom(seed * 31L + from + k));
            });
            for (int k = 0; k < n; k++) {
                writeFully(ch, buffers[k]);
            }
        }
    }

    private enum Fill { NORMAL, ONES, ZEROS }

    private static void fillChunk(ByteBuffer buf, int len, Fill fill, DType dtype, SplittableRandom random) {
        buf.clear();
        for (int i = 0; i < len; i++) {
            float v = fill == Fill.ONES ? 1f : fill == Fill.ZEROS ? 0f : (float) (random.nextGaussian() * STD);
            if (dtype == DType.F32) {
                buf.putFloat(v);
            } else {
                buf.putShort(bf16(v));
            }
        }
        buf.flip();
    }

    /** float32 to bfloat16 rounded to nearest even, as PyTorch rounds (no NaN can occur here). */
    static short bf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Parameters of a {@code LlamaForCausalLM} of this config (the tied head counted once). */
    public static long parameterCount(LlamaConfig config) {
        return LlamaCheckpoint.expectedShapes(config).values().stream().mapToLong(RandomLlamaDirectory::numel).sum();
    }
}

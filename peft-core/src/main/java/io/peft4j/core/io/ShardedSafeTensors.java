package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Hugging Face checkpoints in one file ({@code model.safetensors}) or sharded with
 * {@code model.safetensors.index.json}, whose {@code weight_map} names the shard of every tensor.
 */
public final class ShardedSafeTensors {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ShardedSafeTensors() {}

    /**
     * Reads all weights of a checkpoint directory, single-file or sharded. Weights holding NaN or
     * infinite values are refused (naming the tensors and the count) unless
     * {@link NonFiniteValues#ALLOW_PROPERTY} allows them.
     */
    public static Map<String, Tensor> readDirectory(Path dir) throws IOException {
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(single)) {
            return finite(single, SafeTensors.read(single).tensors());
        }
        if (Files.isRegularFile(index)) {
            return finite(dir, readIndexed(index));
        }
        throw new java.io.FileNotFoundException(dir + ": neither " + SINGLE_FILE + " nor " + INDEX_FILE + " is there");
    }

    private static Map<String, Tensor> finite(Path where, Map<String, Tensor> weights) throws TensorFormatException {
        try {
            NonFiniteValues.check("weights", weights);
        } catch (IllegalArgumentException e) {
            throw new TensorFormatException(where, e.getMessage(), e);
        }
        return weights;
    }

    /** Reads a sharded checkpoint; every tensor of the weight map must be in the shard it names. */
    public static Map<String, Tensor> readIndexed(Path indexFile) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(indexFile.toFile());
        } catch (JsonProcessingException e) {
            throw new TensorFormatException(indexFile, "index is not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new TensorFormatException(indexFile, "no 'weight_map' object");
        }
        Map<String, List<String>> byShard = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\")) {
                throw new TensorFormatException(indexFile, "tensor '" + e.getKey() + "' maps to an invalid shard name '" + shard + "'");
            }
            byShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        Path dir = indexFile.toAbsolutePath().getParent();
        for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
            Path shardFile = dir.resolve(e.getKey());
            if (!Files.isRegularFile(shardFile)) {
                throw new TensorFormatException(indexFile, "shard '" + e.getKey() + "' named in weight_map does not exist");
            }
            SafeTensorsFile shard = SafeTensors.read(shardFile);
            TreeSet<String> missing = new TreeSet<>();
            for (String name : e.getValue()) {
                Tensor t = shard.get(name);
                if (t == null) {
                    missing.add(name);
                } else {
                    all.put(name, t);
                }
            }
            if (!missing.isEmpty()) {
                throw new TensorFormatException(shardFile, "tensors listed in " + INDEX_FILE + " are missing: " + missing);
            }
        }
        return all;
    }

    /**
     * Writes a checkpoint in shards of at most {@code maxShardBytes} (a tensor larger than that gets
     * a shard of its own), named as transformers names them, plus the index. Each file is atomic.
     */
    public static void writeSharded(Path dir, Map<String, Tensor> tensors, long maxShardBytes) throws IOException {
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> current = new LinkedHashMap<>();
        long currentBytes = 0;
        long total = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long size = e.getValue().byteSize();
            if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += size;
            total += size;
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafeTensors.write(dir.resolve(name), shards.get(i), Map.of("format", "pt"));
            for (String tensor : shards.get(i).keySet()) {
                weightMap.put(tensor, name);
            }
        }
        AtomicFiles.writeString(dir.resolve(INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }
}

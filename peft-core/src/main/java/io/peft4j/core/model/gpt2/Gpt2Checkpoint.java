package io.peft4j.core.model.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.io.TensorFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A GPT-2 transformers directory read and checked against its {@code config.json} before any model is
 * built: every tensor the config implies must be there with the shape it implies, and nothing else.
 * Keys are accepted as {@code GPT2LMHeadModel} saves them ({@code transformer.h.0...}) and as
 * {@code GPT2Model} and the original OpenAI conversion save them ({@code h.0...}, no prefix); the
 * causal-mask buffers {@code attn.bias}/{@code attn.masked_bias} and a saved copy of the tied
 * {@code lm_head} are left out. Errors name the file and the tensor.
 */
public final class Gpt2Checkpoint {
    static final String PREFIX = "transformer.";

    private final Gpt2Config config;
    private final Map<String, Tensor> tensors;
    private final String source;

    private Gpt2Checkpoint(Gpt2Config config, Map<String, Tensor> tensors, String source) {
        this.config = config;
        this.tensors = tensors;
        this.source = source;
    }

    public Gpt2Config config() {
        return config;
    }

    /** The tensors under {@code GPT2LMHeadModel} names ({@code transformer.} prefix), checked. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public String source() {
        return source;
    }

    public static Gpt2Checkpoint read(Path dir) throws IOException {
        Gpt2Config config = Gpt2Config.fromJson(dir.resolve("config.json"));
        if (new ObjectMapper().readTree(dir.resolve("config.json").toFile()).has("quantization_config")) {
            throw new IllegalArgumentException(dir.resolve("config.json") + ": quantization_config: quantized GPT-2 "
                    + "checkpoints are not supported (peft4j quantizes linear layers, and GPT-2's are Conv1D); "
                    + "load a float32, float16 or bfloat16 GPT-2 directory");
        }
        Map<String, Tensor> all = ShardedSafeTensors.readDirectory(dir);
        return new Gpt2Checkpoint(config, checked(config, all, tensorFiles(dir, all), dir), dir.toString());
    }

    /** The shape of every parameter of a {@code GPT2LMHeadModel} of this config, by checkpoint name; Conv1D weights {@code [in, out]}. */
    public static Map<String, long[]> expectedShapes(Gpt2Config c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long h = c.hiddenSize();
        out.put(PREFIX + "wte.weight", new long[] {c.vocabSize(), h});
        out.put(PREFIX + "wpe.weight", new long[] {c.nPositions(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = PREFIX + "h." + i + ".";
            norm(out, l + "ln_1", h);
            conv1d(out, l + "attn.c_attn", h, 3 * h);
            conv1d(out, l + "attn.c_proj", h, h);
            norm(out, l + "ln_2", h);
            conv1d(out, l + "mlp.c_fc", h, c.nInner());
            conv1d(out, l + "mlp.c_proj", c.nInner(), h);
        }
        norm(out, PREFIX + "ln_f", h);
        if (!c.tieWordEmbeddings()) {
            out.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return out;
    }

    private static void norm(Map<String, long[]> out, String name, long h) {
        out.put(name + ".weight", new long[] {h});
        out.put(name + ".bias", new long[] {h});
    }

    private static void conv1d(Map<String, long[]> out, String name, long in, long outFeatures) {
        out.put(name + ".weight", new long[] {in, outFeatures});
        out.put(name + ".bias", new long[] {outFeatures});
    }

    /** A checkpoint key under {@code GPT2LMHeadModel}'s name: bare {@code GPT2Model} keys get the {@code transformer.} prefix. */
    static String canonicalName(String key) {
        return key.startsWith(PREFIX) || key.startsWith("lm_head.") ? key : PREFIX + key;
    }

    /** Buffers transformers saves that are no parameter: the causal mask and its fill value. */
    static boolean isBuffer(String key) {
        return key.endsWith(".attn.bias") || key.endsWith(".attn.masked_bias");
    }

    private static Map<String, Tensor> checked(Gpt2Config c, Map<String, Tensor> all, Map<String, String> files, Path dir)
            throws TensorFormatException {
        Map<String, long[]> expected = expectedShapes(c);
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        TreeSet<String> unexpected = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String key = e.getKey();
            String name = canonicalName(key);
            long[] want = expected.get(name);
            if (want == null) {
                boolean derived = isBuffer(key) || (c.tieWordEmbeddings() && name.equals("lm_head.weight"));
                if (!derived) {
                    unexpected.add(key + " (in " + files.get(key) + ")");
                }
                continue;
            }
            if (out.containsKey(name)) {
                problems.add(files.get(key) + ": tensor '" + key + "' is saved twice, with and without the '" + PREFIX + "' prefix");
                continue;
            }
            if (!Arrays.equals(want, e.getValue().shape())) {
                problems.add(files.get(key) + ": tensor '" + key + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but config.json implies " + Arrays.toString(want)
                        + (name.contains(".attn.") || name.contains(".mlp.") ? " (Conv1D weights are [in, out])" : ""));
            }
            out.put(name, e.getValue());
        }
        TreeSet<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(out.keySet());
        if (!missing.isEmpty()) {
            problems.add("missing tensors " + missing + " (config.json: " + c + ")");
        }
        if (!unexpected.isEmpty()) {
            problems.add("tensors that are no parameter of " + Gpt2Config.ARCHITECTURE + ": " + unexpected);
        }
        if (!problems.isEmpty()) {
            throw new TensorFormatException(dir, String.join("; ", problems));
        }
        return out;
    }

    /** Which file holds each tensor: the shard the index names, or the single file. */
    private static Map<String, String> tensorFiles(Path dir, Map<String, Tensor> all) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Path index = dir.resolve(ShardedSafeTensors.INDEX_FILE);
        if (Files.isRegularFile(index) && !Files.isRegularFile(dir.resolve(ShardedSafeTensors.SINGLE_FILE))) {
            JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
            for (String name : all.keySet()) {
                out.put(name, map.get(name).asText());
            }
        } else {
            for (String name : all.keySet()) {
                out.put(name, ShardedSafeTensors.SINGLE_FILE);
            }
        }
        return out;
    }
}

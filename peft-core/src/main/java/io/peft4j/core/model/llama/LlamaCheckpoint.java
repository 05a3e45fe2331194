package io.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.io.TensorFormatException;
import io.peft4j.core.quant.BnbCheckpoint;
import io.peft4j.core.quant.BnbTensors;
import io.peft4j.core.quant.QuantizationConfig;

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
 * A Llama-family transformers directory read and checked against its {@code config.json}: every tensor
 * the config implies must be there with the shape it implies, and nothing else (derived
 * {@code rotary_emb.inv_freq} buffers of old checkpoints, and a saved copy of a tied {@code lm_head},
 * are left out), before any model is built. Errors name the file and the tensor.
 */
public final class LlamaCheckpoint {
    private final LlamaConfig config;
    private final Map<String, Tensor> tensors;
    private final String source;
    private final QuantizationConfig quantization;

    private LlamaCheckpoint(LlamaConfig config, Map<String, Tensor> tensors, String source, QuantizationConfig quantization) {
        this.config = config;
        this.tensors = tensors;
        this.source = source;
        this.quantization = quantization;
    }

    /**
     * The bitsandbytes 4-bit quantization the directory was saved with ({@code config.json}'s
     * {@code quantization_config}), or null for a dense checkpoint. Its linear weights are then in
     * {@link BnbTensors}' layout in {@link #tensors()}, checked against the shapes of the config.
     */
    public QuantizationConfig quantization() {
        return quantization;
    }

    public LlamaConfig config() {
        return config;
    }

    /** The tensors under {@code LlamaForCausalLM} names (and their quant-state companions when quantized), checked. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public String source() {
        return source;
    }

    public static LlamaCheckpoint read(Path dir) throws IOException {
        Path configJson = dir.resolve("config.json");
        LlamaConfig config = LlamaConfig.fromJson(configJson);
        QuantizationConfig quantization = BnbCheckpoint.fromConfigJson(new ObjectMapper().readTree(configJson.toFile()), configJson);
        Map<String, Tensor> all = ShardedSafeTensors.readDirectory(dir);
        Map<String, String> files = tensorFiles(dir, all);
        return new LlamaCheckpoint(config, checked(config, all, files, dir, quantization != null), dir.toString(), quantization);
    }

    /** The shape of every parameter of a {@code LlamaForCausalLM} of this config, by checkpoint name. */
    public static Map<String, long[]> expectedShapes(LlamaConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long inter = c.intermediateSize();
        out.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = "model.layers." + i + ".";
            linear(out, l + "self_attn.q_proj", q, h, c.qkvBias());
            linear(out, l + "self_attn.k_proj", kv, h, c.qkvBias());
            linear(out, l + "self_attn.v_proj", kv, h, c.qkvBias());
            linear(out, l + "self_attn.o_proj", h, q, c.attentionBias());
            linear(out, l + "mlp.gate_proj", inter, h, c.mlpBias());
            linear(out, l + "mlp.up_proj", inter, h, c.mlpBias());
            linear(out, l + "mlp.down_proj", h, inter, c.mlpBias());
            out.put(l + "input_layernorm.weight", new long[] {h});
            out.put(l + "post_attention_layernorm.weight", new long[] {h});
        }
        out.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) {
            out.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return out;
    }

    private static void linear(Map<String, long[]> out, String name, long rows, long cols, boolean bias) {
        out.put(name + ".weight", new long[] {rows, cols});
        if (bias) {
            out.put(name + ".bias", new long[] {rows});
        }
    }

    private static Map<String, Tensor> checked(LlamaConfig c, Map<String, Tensor> all, Map<String, String> files, Path dir,
            boolean quantized) throws TensorFormatException {
        Map<String, long[]> expected = expectedShapes(c);
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        TreeSet<String> unexpected = new TreeSet<>();
        List<String> quantizedKeys = BnbTensors.quantizedWeightKeys(all);
        if (!quantized && !quantizedKeys.isEmpty()) {
            throw new TensorFormatException(dir, "tensors in bitsandbytes' quantized layout (" + quantizedKeys.get(0)
                    + " in " + files.get(quantizedKeys.get(0)) + ", ...) but config.json has no quantization_config");
        }
        // A quantized weight is checked by the dense shape its quant state declares; its companions go with it.
        Map<String, long[]> quantizedShapes = new LinkedHashMap<>();
        Map<String, String> companions = new LinkedHashMap<>();
        for (String key : quantizedKeys) {
            quantizedShapes.put(key, BnbTensors.denseShape(all, key, files.get(key) + " in " + dir));
            for (String k : BnbTensors.keysOf(key, all)) {
                companions.put(k, key);
            }
        }
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String name = e.getKey();
            if (companions.containsKey(name) && !quantizedShapes.containsKey(name)) {
                out.put(name, e.getValue());
                continue;
            }
            long[] want = expected.get(name);
            long[] got = quantizedShapes.containsKey(name) ? quantizedShapes.get(name) : e.getValue().shape();
            if (want == null) {
                boolean derived = name.endsWith("rotary_emb.inv_freq") || (c.tieWordEmbeddings() && name.equals("lm_head.weight"));
                if (!derived) {
                    unexpected.add(name + " (in " + files.get(name) + ")");
                }
                continue;
            }
            if (!Arrays.equals(want, got)) {
                problems.add(files.get(name) + ": tensor '" + name + "' has shape " + Arrays.toString(got)
                        + " but config.json implies " + Arrays.toString(want));
            }
            out.put(name, e.getValue());
        }
        TreeSet<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(out.keySet());
        if (!missing.isEmpty()) {
            problems.add("missing tensors " + missing + " (config.json: " + c + ")");
        }
        if (!unexpected.isEmpty()) {
            problems.add("tensors that are no parameter of " + c.architecture() + ": " + unexpected);
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

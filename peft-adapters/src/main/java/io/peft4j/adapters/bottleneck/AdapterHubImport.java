package io.peft4j.adapters.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.tuner.ConfigJson;
import io.peft4j.core.tuner.HfKeys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a bottleneck adapter saved by AdapterHub's {@code adapters} library ({@code model.save_adapter}):
 * {@code adapter_config.json} with the adapter's {@code BnConfig} under {@code config} beside
 * {@code name}, {@code model_name}, {@code model_class}, {@code model_type} and {@code hidden_size}, and
 * weights in {@code adapter.safetensors} keyed as the library's modules name them, e.g.
 * {@code bert.encoder.layer.0.output.adapters.<name>.adapter_down.0.weight} and
 * {@code ...attention.output.adapters.<name>.adapter_up.bias}. The keys are matched to this model's
 * places by {@code encoder.layer.<i>.(attention.)output}, so an adapter saved from a model with a head
 * ({@code bert.} prefix) loads onto a bare encoder and the other way round.
 *
 * <p>A PyTorch {@code pytorch_adapter.bin} is refused: it is a pickle, whose loading can run code.
 */
public final class AdapterHubImport {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter.safetensors";
    public static final String PICKLE_FILE = "pytorch_adapter.bin";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KEY =
            Pattern.compile("(?:.*\\.)?(encoder\\.layer\\.\\d+\\.(?:attention\\.)?output)\\.adapters\\.([^.]+)\\.(.+)");

    private AdapterHubImport() {}

    /** The adapter's name, config and the model's hidden size as AdapterHub saved them ({@code hiddenSize} -1 when absent). */
    public record Saved(String name, BottleneckConfig config, long hiddenSize) {}

    /** Reads AdapterHub's {@code adapter_config.json}; the config is refused when it is not a supported bottleneck adapter. */
    public static Saved readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + ": no " + CONFIG_FILE + " (an AdapterHub adapter directory holds "
                    + CONFIG_FILE + " and " + WEIGHTS_FILE + ")");
        }
        JsonNode json;
        try {
            json = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode nested = json.get("config");
        if (nested == null || !nested.isObject()) {
            throw new IllegalArgumentException(file + ": no nested 'config' object; this is not an adapter_config.json"
                    + " written by AdapterHub (a peft4j or HF PEFT adapter loads with Peft.load)");
        }
        String what = file + " config";
        BottleneckConfig.Builder b = BottleneckConfig.builder();
        BottleneckConfig.readAdapterHubFields(ConfigJson.of(nested, what), b, what);
        String modelName = json.path("model_name").isTextual() ? json.get("model_name").asText() : null;
        if (modelName != null) {
            b.baseModelNameOrPath(modelName);
        }
        String name = json.path("name").isTextual() ? json.get("name").asText() : BottleneckModel.DEFAULT_ADAPTER;
        long hidden = json.path("hidden_size").isIntegralNumber() ? json.get("hidden_size").asLong() : -1;
        return new Saved(name, b.build(), hidden);
    }

    /**
     * Loads the adapter onto {@code model} under the name it was saved with (or {@code "default"} when
     * that name is not usable here) and makes it active; frozen unless {@code trainable}. On any error
     * the model is unchanged. Returns the adapter's name on the model.
     */
    public static String load(PeftModel model, Path dir, boolean trainable) throws IOException {
        Saved saved = readConfig(dir);
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            if (Files.isRegularFile(dir.resolve(PICKLE_FILE))) {
                throw new IOException(dir + ": only " + PICKLE_FILE + " is present, a Python pickle, which peft4j does not"
                        + " read (loading a pickle can run arbitrary code); save the adapter again with safetensors ("
                        + "adapters' save_adapter(..., use_safetensors=True)) to get " + WEIGHTS_FILE);
            }
            throw new IOException(dir + ": no " + WEIGHTS_FILE);
        }
        BottleneckModel bottleneck = BottleneckModel.of(model);
        List<String> places = bottleneck.places(saved.config());
        long hidden = BottleneckModel.hiddenSize(model.module(places.get(0)));
        if (saved.hiddenSize() > 0 && saved.hiddenSize() != hidden) {
            throw new IllegalArgumentException(dir + ": the adapter was made for a model with hidden size "
                    + saved.hiddenSize() + " (" + saved.config().baseModelNameOrPath() + "), but " + model.architecture()
                    + " (" + model.baseModelName() + ") has hidden size " + hidden);
        }
        Map<String, Tensor> tensors = toPeft4jKeys(SafeTensors.read(weights).tensors(), places, saved, weights);
        String name = model.adapters().containsKey(saved.name()) || !saved.name().matches("[A-Za-z0-9_\\-]+")
                ? BottleneckModel.DEFAULT_ADAPTER : saved.name();
        BottleneckConfig config = saved.config().toBuilder().inferenceMode(!trainable).build();
        try {
            bottleneck.loadAdapter(config, tensors, name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage(), e);
        }
        bottleneck.setAdapter(name);
        return name;
    }

    /** AdapterHub's keys rewritten to peft4j's saved keys for this model's places. */
    static Map<String, Tensor> toPeft4jKeys(Map<String, Tensor> tensors, List<String> places, Saved saved, Path file) {
        Map<String, String> placeBySuffix = new LinkedHashMap<>();
        for (String p : places) {
            int i = p.indexOf("encoder.layer.");
            placeBySuffix.put(i < 0 ? p : p.substring(i), p);
        }
        boolean lnBefore = saved.config().lnBefore();
        Map<String, Tensor> out = new LinkedHashMap<>();
        TreeSet<String> unknown = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Matcher m = KEY.matcher(e.getKey());
            String place = m.matches() ? placeBySuffix.get(m.group(1)) : null;
            if (place == null || !m.group(2).equals(saved.name())) {
                unknown.add(e.getKey());
                continue;
            }
            String part = m.group(3);
            String savedPart;
            if (part.startsWith("adapter_norm_before.") && lnBefore) {
                continue; // the same LayerNorm as adapter_down.0 (AdapterHub registers it twice)
            } else if (lnBefore && part.startsWith("adapter_down.0.")) {
                savedPart = "adapter_norm_before." + part.substring("adapter_down.0.".length());
            } else if (part.startsWith("adapter_down." + (lnBefore ? "1." : "0."))) {
                savedPart = "adapter_down." + part.substring("adapter_down.0.".length());
            } else {
                savedPart = part;
            }
            out.put(HfKeys.saved(place + "." + savedPart), e.getValue());
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(file + ": tensors that are not parts of bottleneck adapter '" + saved.name()
                    + "' at this model's places (" + places.size() + " places, e.g. " + places.get(0) + "): "
                    + Arrays.toString(unknown.stream().limit(8).toArray()) + (unknown.size() > 8 ? " and "
                    + (unknown.size() - 8) + " more" : ""));
        }
        return out;
    }
}

package io.peft4j.core.strategy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Saves and loads adapters in HF PEFT's directory layout: {@code adapter_config.json} (the config,
 * with {@code peft_type} and {@code base_model_name_or_path}) and {@code adapter_model.safetensors}.
 * Loading finds the strategy from the config alone.
 */
public final class AdapterFiles {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private AdapterFiles() {}

    /** Writes the adapter's config and tensors; each file is replaced atomically. */
    public static <C extends PeftConfig> void save(PeftModel model, PeftStrategy<C> strategy, C config,
            String adapterName, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode json = config.toJson();
        json.put("peft_type", config.peftType());
        if (!json.hasNonNull("base_model_name_or_path")) {
            json.put("base_model_name_or_path", model.baseModelName());
        }
        write(dir, json, strategy.state(model, config, adapterName));
    }

    /** Writes a config (as given) and tensors into {@code dir}; each file is replaced atomically. */
    public static void write(Path dir, ObjectNode configJson, Map<String, Tensor> state) throws IOException {
        Files.createDirectories(dir);
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), state, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(configJson));
    }

    /** The tensors of {@code adapter_model.safetensors} in {@code dir}. */
    public static Map<String, Tensor> readTensors(Path dir) throws IOException {
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new IOException(dir + ": no " + WEIGHTS_FILE);
        }
        return SafeTensors.read(weights).tensors();
    }

    /** Reads {@code adapter_config.json} and returns its strategy's parsed config. */
    public static PeftConfig readConfig(Path dir) throws IOException {
        JsonNode json = readConfigJson(dir);
        String type = json.get("peft_type").asText();
        try {
            return Strategies.forType(type).parseConfig(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(CONFIG_FILE) + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readConfigJson(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + ": no " + CONFIG_FILE);
        }
        JsonNode json = io.peft4j.core.tuner.ConfigJson.readObject(file);
        if (json == null || !json.isObject() || !json.path("peft_type").isTextual()) {
            throw new IOException(file + ": expected a JSON object with a string 'peft_type'");
        }
        return json;
    }

    /**
     * Loads an adapter directory onto a base model under {@code adapterName}, through the strategy
     * its {@code peft_type} names, trainable unless its config says {@code inference_mode}. On any
     * error the model is left as it was. {@link io.peft4j.core.Peft#load} is the entry point for users.
     */
    public static PeftConfig load(PeftModel model, Path dir, String adapterName) throws IOException {
        PeftConfig config = readConfig(dir);
        loadWith(Strategies.forConfig(config), model, config, readTensors(dir), adapterName, null);
        return config;
    }

    /** Loads with an explicit trainable flag (null: as the strategy's plain {@code load} leaves it). */
    static <C extends PeftConfig> void loadWith(PeftStrategy<C> strategy, PeftModel model, C config,
            Map<String, Tensor> tensors, String adapterName, Boolean trainable) {
        if (trainable == null) {
            strategy.load(model, config, tensors, adapterName);
        } else {
            strategy.load(model, config, tensors, adapterName, trainable);
        }
    }
}

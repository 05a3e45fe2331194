package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** The model families on the classpath, found with {@link ServiceLoader}. */
public final class ModelFamilies {
    private ModelFamilies() {}

    /** Loaded once: families are stateless and the classpath does not change. */
    private static final class Holder {
        static final List<ModelFamily> ALL = load();

        private static List<ModelFamily> load() {
            List<ModelFamily> out = new ArrayList<>();
            for (ModelFamily f : ServiceLoader.load(ModelFamily.class, ModelFamilies.class.getClassLoader())) {
                out.add(f);
            }
            return List.copyOf(out);
        }
    }

    /** Every family on the classpath. */
    public static List<ModelFamily> all() {
        return Holder.ALL;
    }

    /** The family reading this {@code model_type}, or an exception listing the known ones. */
    public static ModelFamily forModelType(String modelType) {
        for (ModelFamily f : all()) {
            if (f.acceptsModelType(modelType)) {
                return f;
            }
        }
        throw new IllegalArgumentException("No model family on the classpath reads model_type '" + modelType
                + "'; known model types: " + known(true));
    }

    /** The family building this transformers class (e.g. {@code BertForSequenceClassification}). */
    public static ModelFamily forArchitecture(String architecture) {
        for (ModelFamily f : all()) {
            if (f.acceptsArchitecture(architecture)) {
                return f;
            }
        }
        throw new IllegalArgumentException("No model family on the classpath builds architecture '" + architecture
                + "'; known architectures: " + known(false));
    }

    /** The family of a {@code config.json}, from its {@code model_type}. */
    public static ModelFamily forConfig(Path configJson) throws IOException {
        if (!Files.isRegularFile(configJson)) {
            throw new IOException(configJson + ": no such file (a transformers model directory has a config.json)");
        }
        JsonNode n = io.peft4j.core.tuner.ConfigJson.readObject(configJson);
        if (n == null || !n.isObject()) {
            throw new IOException(configJson + ": not a JSON object");
        }
        JsonNode type = n.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new IOException(configJson + ": field 'model_type' must be a string naming the architecture "
                    + "(known model types: " + known(true) + ")" + (type == null ? ", but it is missing" : ", got " + type));
        }
        try {
            return forModelType(type.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** Reads a transformers directory into its family's base model. */
    public static PeftModel loadBaseModel(Path dir, String baseModelName) throws IOException {
        return forConfig(dir.resolve("config.json")).loadBaseModel(dir, baseModelName);
    }

    private static String known(boolean modelTypes) {
        return all().stream()
                .map(f -> f.name() + " " + (modelTypes ? f.modelTypes() : f.architectures()))
                .collect(Collectors.joining(", "));
    }
}

package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.text.TokenizerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A transformers model directory as the commands use it: config, weights, tokenizer, generation defaults. */
final class ModelDirectory {
    static final String CONFIG = "config.json";
    static final String WEIGHTS = "model.safetensors";
    static final String TOKENIZER = "tokenizer.json";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    static final String GENERATION_CONFIG = "generation_config.json";
    /** What a merged directory carries over unchanged besides the weights (those present are copied). */
    static final List<String> COPIED_FILES = List.of(CONFIG, GENERATION_CONFIG, TOKENIZER, TOKENIZER_CONFIG,
            "special_tokens_map.json", "tokenizer.model", "added_tokens.json", "vocab.json", "merges.txt");

    /** transformers' default {@code max_position_embeddings} for Llama, for configs that give none. */
    private static final int DEFAULT_MAX_TOKENS = 2048;

    private final Path dir;

    ModelDirectory(Path dir, String option) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(option + " " + dir + ": no such directory (expected a transformers model directory)");
        }
        if (!Files.isRegularFile(dir.resolve(CONFIG))) {
            throw new IOException(option + " " + dir + ": no " + CONFIG + " (expected a transformers model directory)");
        }
        this.dir = dir;
    }

    Path path() {
        return dir;
    }

    /** The base model, named by its directory as {@code base_model_name_or_path}. */
    PeftModel loadModel() throws IOException {
        return ModelFamilies.loadBaseModel(dir, dir.toAbsolutePath().normalize().getFileName().toString());
    }

    TextTokenizer tokenizer(int maxLength) throws IOException {
        Path file = dir.resolve(TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + ": no " + TOKENIZER + " (the commands need the model's tokenizer)");
        }
        return TextTokenizer.fromJson(file, maxLength);
    }

    /** tokenizer_config.json's settings and the chat template (defaults when the directory has no such file). */
    TokenizerConfig tokenizerConfig() throws IOException {
        return TokenizerConfig.fromModelDirectory(dir);
    }

    /** {@code generation_config.json}'s defaults (eos ids above all), or transformers' defaults without one. */
    GenerationConfig generationConfig() throws IOException {
        Path file = dir.resolve(GENERATION_CONFIG);
        return Files.isRegularFile(file) ? GenerationConfig.fromJson(file) : GenerationConfig.builder().build();
    }

    /**
     * How many tokens a prompt may have: {@code tokenizer_config.json}'s {@code model_max_length} when it is
     * real (transformers writes 1e30 for "none"), else {@code config.json}'s {@code max_position_embeddings}.
     */
    int maxTokens() throws IOException {
        ObjectMapper json = new ObjectMapper();
        Path tokenizerConfig = dir.resolve(TOKENIZER_CONFIG);
        if (Files.isRegularFile(tokenizerConfig)) {
            JsonNode n = json.readTree(tokenizerConfig.toFile()).path("model_max_length");
            if (n.isNumber() && n.asDouble() >= 1 && n.asDouble() <= Integer.MAX_VALUE) {
                return n.asInt();
            }
        }
        JsonNode n = json.readTree(dir.resolve(CONFIG).toFile()).path("max_position_embeddings");
        return n.isInt() && n.asInt() > 0 ? n.asInt() : DEFAULT_MAX_TOKENS;
    }
}

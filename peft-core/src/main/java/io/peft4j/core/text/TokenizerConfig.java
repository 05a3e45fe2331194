package io.peft4j.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What a transformers model directory's {@code tokenizer_config.json} says about preparing text beyond the
 * vocabulary: the BOS/EOS/pad tokens, whether the tokenizer adds BOS and EOS to every encoded text
 * ({@code add_bos_token}, {@code add_eos_token}; transformers' Llama defaults are true and false), the
 * padding and truncation sides, and the chat template. A directory without the file gives the defaults.
 */
public final class TokenizerConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String bosToken;
    private final String eosToken;
    private final String padToken;
    private final boolean addBosToken;
    private final boolean addEosToken;
    private final String paddingSide;
    private final String truncationSide;
    private final ChatTemplate chatTemplate;

    private TokenizerConfig(Path file, JsonNode json, ChatTemplate chatTemplate) throws IOException {
        this.bosToken = token(json.path("bos_token"));
        this.eosToken = token(json.path("eos_token"));
        this.padToken = token(json.path("pad_token"));
        // Tokenizers whose config does not say (e.g. GPT-2's) add neither.
        this.addBosToken = json.path("add_bos_token").asBoolean(false);
        this.addEosToken = json.path("add_eos_token").asBoolean(false);
        this.paddingSide = side(file, json, "padding_side");
        this.truncationSide = side(file, json, "truncation_side");
        this.chatTemplate = chatTemplate;
    }

    /** The tokenizer settings of a transformers model directory ({@code tokenizer_config.json}, {@code chat_template.jinja}). */
    public static TokenizerConfig fromModelDirectory(Path dir) throws IOException {
        Path file = dir.resolve(ChatTemplate.TOKENIZER_CONFIG);
        JsonNode json;
        try {
            json = Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        return new TokenizerConfig(file, json, ChatTemplate.fromModelDirectory(dir).orElse(null));
    }

    private static String side(Path file, JsonNode json, String field) throws IOException {
        String side = json.path(field).asText("right");
        if (!side.equals("left") && !side.equals("right")) {
            throw new IOException(file + ": field '" + field + "' is '" + side + "'; expected 'left' or 'right'");
        }
        return side;
    }

    private static String token(JsonNode n) {
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    public Optional<String> padToken() {
        return Optional.ofNullable(padToken);
    }

    public boolean addBosToken() {
        return addBosToken;
    }

    public boolean addEosToken() {
        return addEosToken;
    }

    /** {@code "left"} or {@code "right"} (the default). */
    public String paddingSide() {
        return paddingSide;
    }

    /** {@code "left"} or {@code "right"} (the default). */
    public String truncationSide() {
        return truncationSide;
    }

    /** The model's chat template; empty for a base model without one. */
    public Optional<ChatTemplate> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }
}

package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Parses a safetensors JSON header as strictly as the reference implementation (Rust
 * {@code safetensors} with {@code serde_json}): the bytes must be valid UTF-8 (no replacement
 * characters for broken sequences, so a tensor name is never silently altered), hold exactly one
 * JSON object, followed by nothing but JSON whitespace (the writer pads with spaces), and name each
 * key once.
 */
final class SafeTensorsHeader {
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private SafeTensorsHeader() {}

    static JsonNode parse(Path file, byte[] bytes) throws TensorFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new TensorFormatException(file, "header is not valid UTF-8 (" + e + ")", e);
        }
        JsonNode header;
        try {
            header = STRICT.readTree(text);
        } catch (JsonProcessingException e) {
            throw new TensorFormatException(file, "header is not valid JSON (one object, then only"
                    + " whitespace, each key once): " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new TensorFormatException(file, "header is not a JSON object");
        }
        return header;
    }
}

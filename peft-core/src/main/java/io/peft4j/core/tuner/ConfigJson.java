package io.peft4j.core.tuner;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Strict reading of a config's JSON object: a field of the wrong type is an error naming the field,
 * the expected type and the value found, never coerced (Jackson's {@code asInt()} would read
 * {@code "8"} as 8 and {@code true} as 1). Absent and {@code null} fields read as "not given".
 */
public final class ConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** One JSON value, nothing after it, each key once: what Python's json module writes. */
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Larger than any real config (a tokenizer's vocabulary is not a config): refuse before parsing. */
    static final long MAX_FILE_BYTES = 16L << 20;

    private final JsonNode json;
    private final String what;

    private ConfigJson(JsonNode json, String what) {
        this.json = json;
        this.what = what;
    }

    /**
     * Reads a JSON config file (config.json, adapter_config.json, ...) as one JSON object. Anything
     * else, including bytes that are not UTF-8 (JSON files are UTF-8: RFC 8259), duplicate keys and
     * content after the object, is a {@link ConfigFileException} naming the file, never a bare Jackson
     * or charset exception.
     */
    public static JsonNode readObject(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new ConfigFileException(file, "is " + size + " bytes, larger than any config (limit " + MAX_FILE_BYTES + ")");
        }
        byte[] bytes = Files.readAllBytes(file);
        for (byte b : bytes) {
            if (b == 0) {
                // Valid UTF-8, but never in JSON text: the mark of UTF-16 or UTF-32.
                throw new ConfigFileException(file, "is not UTF-8 text, as JSON must be (it holds NUL bytes:"
                        + " UTF-16 or UTF-32?)");
            }
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ConfigFileException(file, "is not UTF-8 text, as JSON must be (" + e + ")", e);
        }
        JsonNode json;
        try {
            json = STRICT.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigFileException(file, "is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")"), e);
        }
        if (json == null || !json.isObject()) {
            throw new ConfigFileException(file, "must hold a JSON object, got "
                    + (json == null || json.isMissingNode() ? "nothing" : json.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return json;
    }

    /** @param what names the config in messages, e.g. {@code LoraConfig} or a file path */
    public static ConfigJson of(JsonNode json, String what) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException(what + " must be a JSON object, got " + json);
        }
        return new ConfigJson(json, what);
    }

    public JsonNode node() {
        return json;
    }

    /** True when the field is present and not null. */
    public boolean has(String field) {
        JsonNode v = json.get(field);
        return v != null && !v.isNull();
    }

    private IllegalArgumentException wrong(String field, String expected, JsonNode got) {
        return new IllegalArgumentException(what + ": " + field + " must be " + expected + ", got " + got + " ("
                + got.getNodeType().name().toLowerCase(Locale.ROOT) + ")");
    }

    public int intField(String field, int dflt) {
        if (!has(field)) {
            return dflt;
        }
        JsonNode v = json.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrong(field, "an integer", v);
        }
        return v.intValue();
    }

    /**
     * An integer in {@code [min, max]}. Out-of-range values, including ones beyond 32 bits such as
     * {@code 2^32 + 8} (which a cast would wrap to 8), are errors naming the field.
     */
    public int intField(String field, int dflt, int min, int max) {
        if (!has(field)) {
            return dflt;
        }
        JsonNode v = json.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw wrong(field, "an integer in [" + min + ", " + max + "]", v);
        }
        return v.intValue();
    }

    /** A number that is finite as a float: {@code 1e39} would become infinity, and is an error. */
    public float floatField(String field, float dflt) {
        if (!has(field)) {
            return dflt;
        }
        return finiteFloat(field, json.get(field));
    }

    private float finiteFloat(String field, JsonNode v) {
        if (!v.isNumber() || !Float.isFinite(v.floatValue())) {
            throw wrong(field, "a finite number within float range", v);
        }
        return v.floatValue();
    }

    public boolean boolField(String field, boolean dflt) {
        if (!has(field)) {
            return dflt;
        }
        JsonNode v = json.get(field);
        if (!v.isBoolean()) {
            throw wrong(field, "true or false", v);
        }
        return v.booleanValue();
    }

    /** A string, or null when absent. */
    public String text(String field) {
        if (!has(field)) {
            return null;
        }
        JsonNode v = json.get(field);
        if (!v.isTextual()) {
            throw wrong(field, "a string", v);
        }
        return v.textValue();
    }

    /** True when the field holds a string (as HF's regex form of {@code target_modules}). */
    public boolean isText(String field) {
        return has(field) && json.get(field).isTextual();
    }

    /** A list of strings without repeats (HF stores some as sets), or null when absent. */
    public List<String> stringList(String field) {
        if (!has(field)) {
            return null;
        }
        JsonNode v = json.get(field);
        if (!v.isArray()) {
            throw wrong(field, "a list of strings", v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw wrong(field + " entries", "strings", e);
            }
            if (!out.contains(e.textValue())) {
                out.add(e.textValue());
            }
        }
        return out;
    }

    /** One string or a list of strings (HF's {@code Union[str, list[str]]}), as a list; null when absent. */
    public List<String> stringOrList(String field) {
        return isText(field) ? List.of(json.get(field).textValue()) : stringList(field);
    }

    /** One integer or a list of integers, as a list; null when absent. */
    public List<Integer> intOrList(String field) {
        if (!has(field)) {
            return null;
        }
        JsonNode v = json.get(field);
        List<Integer> out = new ArrayList<>();
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            out.add(v.intValue());
            return out;
        }
        if (!v.isArray()) {
            throw wrong(field, "an integer or a list of integers", v);
        }
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw wrong(field + " entries", "integers", e);
            }
            out.add(e.intValue());
        }
        return out;
    }

    /** An object of integers by key (e.g. {@code rank_pattern}); empty when absent. */
    public Map<String, Integer> intMap(String field) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : objectFields(field)) {
            if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt()) {
                throw wrong(field + "['" + e.getKey() + "']", "an integer", e.getValue());
            }
            out.put(e.getKey(), e.getValue().intValue());
        }
        return out;
    }

    /** An object of numbers by key (e.g. {@code alpha_pattern}); empty when absent. */
    public Map<String, Float> floatMap(String field) {
        Map<String, Float> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : objectFields(field)) {
            out.put(e.getKey(), finiteFloat(field + "['" + e.getKey() + "']", e.getValue()));
        }
        return out;
    }

    private List<Map.Entry<String, JsonNode>> objectFields(String field) {
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        if (!has(field)) {
            return out;
        }
        JsonNode v = json.get(field);
        if (!v.isObject()) {
            throw wrong(field, "an object", v);
        }
        v.fields().forEachRemaining(out::add);
        return out;
    }

    /** The fields not in {@code known}, copied, in file order. */
    public ObjectNode unknownFields(Set<String> known) {
        ObjectNode out = JSON.createObjectNode();
        Iterator<Map.Entry<String, JsonNode>> it = json.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!known.contains(e.getKey())) {
                out.set(e.getKey(), e.getValue().deepCopy());
            }
        }
        return out;
    }
}

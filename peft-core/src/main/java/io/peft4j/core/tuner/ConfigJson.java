package io.peft4j.core.tuner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

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

    private final JsonNode json;
    private final String what;

    private ConfigJson(JsonNode json, String what) {
        this.json = json;
        this.what = what;
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

    public float floatField(String field, float dflt) {
        if (!has(field)) {
            return dflt;
        }
        JsonNode v = json.get(field);
        if (!v.isNumber()) {
            throw wrong(field, "a number", v);
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
            if (!e.getValue().isNumber()) {
                throw wrong(field + "['" + e.getKey() + "']", "a number", e.getValue());
            }
            out.put(e.getKey(), e.getValue().floatValue());
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

package io.peft4j.core.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The shared config fields, read strictly and written back with unknown fields kept. */
class TunerConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A method with one field of its own, as a new tuner would write it. */
    static final class ToyConfig extends TunerConfig {
        final int width;

        private ToyConfig(Builder b) {
            super(b);
            this.width = b.width;
        }

        @Override
        public String peftType() {
            return "TOY";
        }

        @Override
        protected void writeFields(ObjectNode json) {
            json.put("width", width);
        }

        static ToyConfig fromJson(JsonNode json) {
            Builder b = new Builder();
            ConfigJson j = readCommon(json, "TOY", "toy config", Set.of("width"), b);
            b.width = j.intField("width", 1);
            return b.build();
        }

        static final class Builder extends TunerConfig.Builder<ToyConfig, Builder> {
            int width = 1;

            @Override
            protected Builder self() {
                return this;
            }

            @Override
            public ToyConfig build() {
                return new ToyConfig(this);
            }
        }
    }

    private static ToyConfig parse(String json) throws Exception {
        return ToyConfig.fromJson(JSON.readTree(json));
    }

    @Test
    void sharedFieldsRoundTripAndUnknownFieldsAreKept() throws Exception {
        ToyConfig c = parse("{\"peft_type\":\"TOY\",\"target_modules\":[\"q\",\"v\",\"q\"],\"exclude_modules\":\".*\\\\.0\\\\..*\","
                + "\"layers_to_transform\":2,\"layers_pattern\":\"layers\",\"modules_to_save\":[\"score\"],"
                + "\"task_type\":\"CAUSAL_LM\",\"revision\":\"main\",\"inference_mode\":true,\"width\":3,"
                + "\"future_option\":{\"a\":[1,2]}}");
        assertEquals(List.of("q", "v"), c.targetModules(), "HF stores target_modules as a set: repeats dropped");
        assertEquals(".*\\.0\\..*", c.excludeModulesRegex());
        assertEquals(List.of(2), c.layersToTransform());
        assertEquals(List.of("layers"), c.layersPattern());
        assertEquals("main", c.revision());
        assertTrue(c.inferenceMode());
        assertEquals(3, c.width);
        JsonNode out = c.toJson();
        assertEquals(JSON.readTree("{\"a\":[1,2]}"), out.get("future_option"), "unknown field written back as read");
        assertEquals("TOY", out.get("peft_type").asText());
        assertEquals(c, ToyConfig.fromJson(out));
        List<String> keys = new ArrayList<>();
        out.fieldNames().forEachRemaining(keys::add);
        List<String> known = new ArrayList<>(keys.subList(0, keys.size() - 1));
        List<String> sorted = new ArrayList<>(known);
        java.util.Collections.sort(sorted);
        assertEquals(sorted, known, "known fields in sorted order, as Python's json.dump(sort_keys=True)");
        assertEquals("future_option", keys.get(keys.size() - 1));
        assertNull(parse("{\"peft_type\":\"TOY\"}").targetModules(), "absent target_modules: the model's defaults");
    }

    @Test
    void wrongTypesAreErrorsNamingTheFieldNeverCoerced() {
        assertMessage("target_modules must be a list of strings, got 5", "{\"target_modules\":5}");
        assertMessage("target_modules entries must be strings, got 1", "{\"target_modules\":[\"q\",1]}");
        assertMessage("inference_mode must be true or false, got \"true\"", "{\"inference_mode\":\"true\"}");
        assertMessage("width must be an integer, got \"3\"", "{\"width\":\"3\"}");
        assertMessage("width must be an integer, got 3.5", "{\"width\":3.5}");
        assertMessage("layers_to_transform must be an integer or a list of integers, got \"1\"",
                "{\"layers_to_transform\":\"1\"}");
        assertMessage("task_type must be a string, got 7", "{\"task_type\":7}");
        assertMessage("target_modules is an empty list", "{\"target_modules\":[]}");
        assertMessage("Not a toy config: peft_type is 'LORA'", "{\"peft_type\":\"LORA\"}");
        assertMessage("layers_pattern needs layers_to_transform", "{\"target_modules\":[\"q\"],\"layers_pattern\":\"h\"}");
        assertMessage("cannot be used when target_modules is a regex",
                "{\"target_modules\":\".*q\",\"layers_to_transform\":[1]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ToyConfig.Builder().targetModules().build());
        assertTrue(e.getMessage().contains("target_modules is an empty list"), e.getMessage());
    }

    private static void assertMessage(String part, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should contain '" + part + "'");
    }
}

package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.tuner.TargetMatcher;

import org.junit.jupiter.api.Test;

import java.util.List;

class LoraConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LoraConfig parse(String json) throws Exception {
        return LoraConfig.fromJson(JSON.readTree(json));
    }

    @Test
    void jsonRoundTripKeepsEveryField() {
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05f).targetModules("query", "value")
                .excludeModules("layer.0.attention.self.query").layersToTransform(1, 2).layersPattern("layer")
                .rankPattern("value", 4).alphaPattern("value", 8).modulesToSave("classifier").bias(LoraBias.ALL)
                .useRslora(true).useDora(true).initLoraWeights(InitLoraWeights.GAUSSIAN).taskType("SEQ_CLS")
                .baseModelNameOrPath("sentence-transformers/all-MiniLM-L6-v2").build();
        assertEquals(c, LoraConfig.fromJson(c.toJson()));
        JsonNode j = c.toJson();
        assertEquals("LORA", j.get("peft_type").asText());
        assertEquals("gaussian", j.get("init_lora_weights").asText());
        assertEquals(32, j.get("lora_alpha").asInt());
        assertTrue(j.get("lora_alpha").isInt(), "integral alpha written as an int, as Python writes it");
    }

    @Test
    void readsHfValueShapes() throws Exception {
        LoraConfig c = parse("{\"peft_type\":\"LORA\",\"r\":4,\"target_modules\":\".*attention.self.(query|value)\","
                + "\"init_lora_weights\":\"pissa_niter_4\",\"layers_to_transform\":null,\"lora_alpha\":8.5}");
        assertEquals(".*attention.self.(query|value)", c.targetModulesRegex());
        assertNull(c.targetModules());
        assertEquals(InitLoraWeights.PISSA, c.initLoraWeights());
        assertEquals("pissa_niter_4", c.toJson().get("init_lora_weights").asText());
        assertEquals(8.5f, c.loraAlpha());
        LoraConfig d = parse("{\"peft_type\":\"LORA\",\"init_lora_weights\":false,\"layers_to_transform\":3,"
                + "\"layers_pattern\":\"layer\",\"target_modules\":[\"query\"]}");
        assertEquals(InitLoraWeights.RANDOM, d.initLoraWeights());
        assertEquals(List.of(3), d.layersToTransform());
        assertEquals(List.of("layer"), d.layersPattern());
        LoraConfig defaults = parse("{\"peft_type\":\"LORA\"}");
        assertEquals(8, defaults.r());
        assertEquals(8f, defaults.loraAlpha());
        assertEquals(LoraBias.NONE, defaults.bias());
        assertFalse(defaults.inferenceMode());
    }

    @Test
    void badValuesNameTheField() throws Exception {
        assertMessage("r must be > 0", () -> LoraConfig.builder().r(-1).build());
        assertMessage("lora_dropout", () -> LoraConfig.builder().loraDropout(1f).build());
        assertMessage("rank_pattern['value']", () -> LoraConfig.builder().rankPattern("value", 0).build());
        assertMessage("layers_pattern needs layers_to_transform", () -> LoraConfig.builder().layersPattern("layer").build());
        assertMessage("regex", () -> LoraConfig.builder().targetModulesRegex("(").build());
        assertMessage("bias must be one of", () -> parse("{\"bias\":\"some\"}"));
        assertMessage("r must be an integer", () -> parse("{\"r\":\"8\"}"));
        assertMessage("init_lora_weights \"olora\" is not supported", () -> parse("{\"init_lora_weights\":\"olora\"}"));
        assertMessage("layer_replication", () -> parse("{\"layer_replication\":[[0,4]]}"));
        assertMessage("Not a LoRA config", () -> parse("{\"peft_type\":\"IA3\"}"));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(part), "'" + ex.getMessage() + "' should contain '" + part + "'");
    }

    @Test
    void targetMatchingFollowsHfPeft() {
        assertTrue(TargetMatcher.nameMatches(List.of("query"), null, "bert.encoder.layer.0.attention.self.query"));
        assertTrue(TargetMatcher.nameMatches(List.of("self.query"), null, "bert.encoder.layer.0.attention.self.query"));
        assertFalse(TargetMatcher.nameMatches(List.of("uery"), null, "bert.encoder.layer.0.attention.self.query"),
                "a suffix must start at a component");
        assertTrue(TargetMatcher.nameMatches(null, ".*\\.query", "bert.encoder.layer.0.attention.self.query"));
        assertFalse(TargetMatcher.nameMatches(null, "query", "bert.encoder.layer.0.attention.self.query"),
                "a regex must match the whole name");
        assertEquals(Integer.valueOf(3), TargetMatcher.layerIndex(null, "bert.encoder.layer.3.attention.self.query"));
        assertEquals(Integer.valueOf(3), TargetMatcher.layerIndex(List.of("layer"), "bert.encoder.layer.3.output.dense"));
        assertNull(TargetMatcher.layerIndex(List.of("h"), "bert.encoder.layer.3.output.dense"));
        assertEquals("value", TargetMatcher.patternKey(List.of("key", "value"), "bert.encoder.layer.3.attention.self.value"));
        assertEquals("layer\\.3\\..*value", TargetMatcher.patternKey(List.of("layer\\.3\\..*value"),
                "bert.encoder.layer.3.attention.self.value"));
        assertNull(TargetMatcher.patternKey(List.of("alue"), "bert.encoder.layer.3.attention.self.value"));
    }

    @Test
    void scalingIsAlphaOverROrSqrtR() {
        assertEquals(2f, LoraConfig.scaling(16, 8, false));
        assertEquals((float) (16 / Math.sqrt(8)), LoraConfig.scaling(16, 8, true));
    }
}

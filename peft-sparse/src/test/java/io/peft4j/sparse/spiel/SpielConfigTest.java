package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

/** SpielConfig's JSON: the reference's field names and defaults, a round trip, and errors naming the field. */
class SpielConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void defaultsAreTheReferenceImplementations() throws Exception {
        SpielConfig c = SpielConfig.fromJson(JSON.readTree("{\"peft_type\": \"SPIEL\"}"));
        assertEquals(0.01f, c.density());
        assertNull(c.numTunableWeights());
        assertEquals(SpielConfig.SelectionAlgorithm.RIGL, c.selectionAlgorithm());
        assertEquals(20, c.reselectionSteps());
        assertEquals(5, c.selectionAccumulationSteps());
        assertEquals(0.2f, c.initialReselectionRate());
    }

    @Test
    void roundTripKeepsEveryField() throws Exception {
        SpielConfig c = SpielConfig.builder().density(0.02f).numTunableWeights(1000L)
                .selectionAlgorithm(SpielConfig.SelectionAlgorithm.SM3).reselectionSteps(10).selectionAccumulationSteps(3)
                .initialReselectionRate(0.3f).seed(7).targetModules("query", "value").modulesToSave("classifier").build();
        JsonNode json = c.toJson();
        assertEquals("SPIEL", json.get("peft_type").asText());
        assertEquals("sm3", json.get("selection_algorithm").asText());
        assertEquals(1000, json.get("num_tunable_weights").asLong());
        assertEquals(c, SpielConfig.fromJson(JSON.readTree(JSON.writeValueAsString(json))));
    }

    @Test
    void badValuesNameTheirField() {
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                () -> SpielConfig.fromJson(JSON.readTree("{\"selection_algorithm\": \"magic\"}")));
        assertTrue(a.getMessage().contains("selection_algorithm"), a.getMessage());
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
                () -> SpielConfig.fromJson(JSON.readTree("{\"density\": 1.5}")));
        assertTrue(d.getMessage().contains("density"), d.getMessage());
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
                () -> SpielConfig.fromJson(JSON.readTree("{\"reselection_steps\": \"often\"}")));
        assertTrue(t.getMessage().contains("reselection_steps"), t.getMessage());
        IllegalArgumentException w = assertThrows(IllegalArgumentException.class,
                () -> SpielConfig.fromJson(JSON.readTree("{\"peft_type\": \"LORA\"}")));
        assertTrue(w.getMessage().contains("peft_type"), w.getMessage());
    }
}

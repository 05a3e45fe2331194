package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.gpt2.Gpt2Model;
import io.peft4j.core.strategy.AdapterFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Files as HF PEFT writes them (the fixture is made by {@code src/test/python/make_gpt2_prompt_tuning.py},
 * whose header says how): a GPT-2 prompt-tuning adapter of width 768 loads onto a GPT-2 of that width,
 * whatever its depth, and fails clearly on another width, leaving the model as it was.
 */
class HfPromptFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path fixture() throws URISyntaxException {
        return Path.of(HfPromptFilesTest.class.getResource("/hf-peft/gpt2-prompt-tuning/adapter_config.json").toURI()).getParent();
    }

    /** The fixture's values: ((row * 768 + col) % 97 - 48) / 64, exact in float32. */
    private static float[] fixtureValues() {
        float[] v = new float[8 * 768];
        for (int i = 0; i < v.length; i++) {
            v[i] = ((i % 97) - 48) / 64f;
        }
        return v;
    }

    @Test
    void hfPeftGpt2PromptTuningLoadsOntoAModelOfThatWidth() throws Exception {
        try (PeftModel model = TinyDecoders.gpt2(21, 768, 1, 12)) {
            Peft.load(model, fixture());
            PromptLearning prompts = PromptLearning.of(model);
            PromptTuningConfig config = (PromptTuningConfig) prompts.config("default");
            assertEquals(8, config.numVirtualTokens());
            assertEquals(768, config.tokenDim());
            assertEquals(PromptTuningInit.TEXT, config.promptTuningInit());
            assertEquals("Write a short story:", config.promptTuningInitText());
            assertArrayEquals(fixtureValues(), model.parameter("transformer.prompt_encoder.default.embedding.weight")
                    .parameter().getArray().toFloatArray());
            assertEquals(0, model.trainableParameters().size(), "loaded for inference: nothing trains");
        }
    }

    @Test
    void configJsonRoundTripsFieldForField() throws Exception {
        JsonNode file = JSON.readTree(fixture().resolve(AdapterFiles.CONFIG_FILE).toFile());
        assertEquals(file, PromptTuningConfig.fromJson(file).toJson());
        // Older HF PEFT versions wrote the enum's repr.
        JsonNode repr = JSON.readTree(file.toString().replace("\"TEXT\"", "\"PromptTuningInit.TEXT\""));
        assertEquals(PromptTuningInit.TEXT, PromptTuningConfig.fromJson(repr).promptTuningInit());
        JsonNode wrongType = JSON.readTree(file.toString().replace("\"num_virtual_tokens\":8", "\"num_virtual_tokens\":\"8\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptTuningConfig.fromJson(wrongType));
        assertTrue(e.getMessage().contains("num_virtual_tokens"), e.getMessage());
    }

    /** P-tuning and prefix-tuning configs: HF PEFT's field names, and every field read back as written. */
    @Test
    void pTuningAndPrefixConfigsRoundTrip() throws Exception {
        JsonNode p = JSON.readTree("{\"peft_type\":\"P_TUNING\",\"task_type\":\"SEQ_CLS\",\"num_virtual_tokens\":20,"
                + "\"token_dim\":768,\"num_transformer_submodules\":1,\"num_attention_heads\":12,\"num_layers\":12,"
                + "\"encoder_reparameterization_type\":\"LSTM\",\"encoder_hidden_size\":128,\"encoder_num_layers\":2,"
                + "\"encoder_dropout\":0.1,\"modules_to_save\":null}");
        PTuningConfig pt = PTuningConfig.fromJson(p);
        assertEquals(EncoderReparameterizationType.LSTM, pt.encoderReparameterizationType());
        assertEquals(128, pt.encoderHiddenSize());
        assertEquals(0.1f, pt.encoderDropout());
        assertEquals(pt.toJson(), PTuningConfig.fromJson(pt.toJson()).toJson());
        assertTrue(pt.toJson().has("modules_to_save"), "an unknown field is kept");
        JsonNode x = JSON.readTree("{\"peft_type\":\"PREFIX_TUNING\",\"num_virtual_tokens\":30,\"prefix_projection\":true,"
                + "\"encoder_hidden_size\":512}");
        PrefixTuningConfig px = PrefixTuningConfig.fromJson(x);
        assertTrue(px.prefixProjection());
        assertEquals(512, px.encoderHiddenSize());
        assertEquals(px.toJson(), PrefixTuningConfig.fromJson(px.toJson()).toJson());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PrefixTuningConfig.fromJson(JSON.readTree("{\"num_virtual_tokens\":3,\"prefix_projection\":\"yes\"}")));
        assertTrue(e.getMessage().contains("prefix_projection"), e.getMessage());
    }

    @Test
    void aFileForAnotherWidthFailsNamingFileTensorAndWidthsAndLeavesTheModelAsItWas() throws Exception {
        try (PeftModel model = TinyDecoders.gpt2(22, 64, 1, 4)) {
            Map<String, float[]> before = weights(model);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(model, fixture()));
            String m = e.getMessage();
            assertTrue(m.contains("adapter_model.safetensors") && m.contains("prompt_embeddings") && m.contains("768")
                    && m.contains("64") && m.contains(fixture().toString()), m);
            assertTrue(model.module("transformer") instanceof Gpt2Model && !(model.module("transformer") instanceof PromptHost));
            assertTrue(model.adapters().isEmpty());
            Map<String, float[]> after = weights(model);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
        }
    }

    @Test
    void extraOrMissingTensorsFailClearly(@TempDir Path dir) throws Exception {
        Files.copy(fixture().resolve(AdapterFiles.CONFIG_FILE), dir.resolve(AdapterFiles.CONFIG_FILE));
        SafeTensors.write(dir.resolve(AdapterFiles.WEIGHTS_FILE), Map.of("prompt_encoder.default.embedding.weight",
                Tensor.ofFloats(fixtureValues(), 8, 768)), Map.of());
        try (PeftModel model = TinyDecoders.gpt2(23, 768, 1, 12)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(model, dir));
            assertTrue(e.getMessage().contains("[prompt_embeddings]") && e.getMessage().contains("prompt_encoder.default.embedding.weight"),
                    e.getMessage());
            assertTrue(model.adapters().isEmpty());
        }
    }

    @Test
    void savedFilesUseHfPeftsKeyAndFields(@TempDir Path dir) throws Exception {
        try (PeftModel model = TinyDecoders.gpt2(24, 32, 2, 4)) {
            Peft.wrap(model, PrefixTuningConfig.builder().numVirtualTokens(4).taskType("CAUSAL_LM").build()).save(dir);
            Map<String, Tensor> saved = AdapterFiles.readTensors(dir);
            assertEquals(java.util.Set.of("prompt_embeddings"), saved.keySet());
            assertArrayEquals(new long[] {4, 2 * 2 * 32}, saved.get("prompt_embeddings").shape());
            JsonNode config = JSON.readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());
            assertEquals("PREFIX_TUNING", config.get("peft_type").asText());
            assertEquals(32, config.get("token_dim").asInt());
            assertEquals(4, config.get("num_attention_heads").asInt());
            assertEquals(2, config.get("num_layers").asInt());
            assertEquals(1, config.get("num_transformer_submodules").asInt());
            assertTrue(config.get("inference_mode").asBoolean());
            assertEquals("tiny-gpt2", config.get("base_model_name_or_path").asText());
        }
    }

    private static Map<String, float[]> weights(PeftModel model) {
        Map<String, float[]> out = new java.util.TreeMap<>();
        model.namedParameters().forEach(p -> out.put(p.name(), p.parameter().getArray().toFloatArray()));
        return out;
    }
}

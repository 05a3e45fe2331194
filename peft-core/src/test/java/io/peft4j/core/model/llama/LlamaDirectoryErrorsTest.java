package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Misconfigured transformers directories fail before any model is built, naming the file and the tensor. */
class LlamaDirectoryErrorsTest {
    private static final String K_PROJ = "model.layers.2.self_attn.k_proj.weight";

    @TempDir
    Path dir;

    private Map<String, Tensor> stories() throws IOException {
        return new LinkedHashMap<>(SafeTensors.read(Stories260K.dir().resolve("model.safetensors")).tensors());
    }

    private void copyConfig() throws IOException {
        Files.copy(Stories260K.dir().resolve("config.json"), dir.resolve("config.json"));
    }

    @Test
    void aTensorWhoseShapeDisagreesWithTheConfigIsNamedWithBothShapes() throws IOException {
        copyConfig();
        Map<String, Tensor> w = stories();
        // k_proj of 4 KV heads x head_dim 8 is [32, 64]; a checkpoint with 8 KV heads would have [64, 64].
        w.put(K_PROJ, Tensor.ofFloats(new float[64 * 64], 64, 64));
        ShardedSafeTensors.writeSharded(dir, w, Long.MAX_VALUE);
        Files.move(dir.resolve(firstShard()), dir.resolve("model.safetensors"));
        Files.delete(dir.resolve(ShardedSafeTensors.INDEX_FILE));
        IOException e = assertThrows(IOException.class, () -> Llama.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("model.safetensors: tensor '" + K_PROJ + "' has shape [64, 64] but config.json "
                + "implies [32, 64]"), e.getMessage());
    }

    @Test
    void aShardTheIndexNamesButThatIsNotThereIsNamed() throws IOException {
        copyConfig();
        ShardedSafeTensors.writeSharded(dir, stories(), 300_000);
        String shard = firstShard();
        Files.delete(dir.resolve(shard));
        IOException e = assertThrows(IOException.class, () -> ModelFamilies.loadBaseModel(dir, "broken"));
        assertTrue(e.getMessage().contains(ShardedSafeTensors.INDEX_FILE) && e.getMessage().contains(shard),
                e.getMessage());
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        copyConfig();
        Map<String, Tensor> w = stories();
        w.remove(K_PROJ);
        ShardedSafeTensors.writeSharded(dir, w, 300_000);
        IOException e = assertThrows(IOException.class, () -> Llama.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("missing tensors [" + K_PROJ + "]"), e.getMessage());
    }

    @Test
    void anUnknownModelTypeNamesTheFileAndTheField() throws IOException {
        String config = Files.readString(Stories260K.dir().resolve("config.json")).replace("\"llama\"", "\"falcon\"");
        Files.writeString(dir.resolve("config.json"), config);
        IOException e = assertThrows(IOException.class, () -> LlamaConfig.fromJson(dir.resolve("config.json")));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("model_type 'falcon'"), e.getMessage());
        IOException viaFamilies = assertThrows(IOException.class, () -> ModelFamilies.loadBaseModel(dir, "broken"));
        assertTrue(viaFamilies.getMessage().contains("model_type 'falcon'") && viaFamilies.getMessage().contains("config.json"),
                viaFamilies.getMessage());
    }

    @Test
    void aFieldOfTheWrongTypeIsNamed() throws IOException {
        String config = Files.readString(Stories260K.dir().resolve("config.json"))
                .replace("\"num_key_value_heads\": 4", "\"num_key_value_heads\": \"four\"");
        Files.writeString(dir.resolve("config.json"), config);
        IOException e = assertThrows(IOException.class, () -> LlamaConfig.fromJson(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains("num_key_value_heads must be an integer"), e.getMessage());
    }

    @Test
    void configFieldsOfMistralAndQwen2() throws IOException {
        String base = Files.readString(Stories260K.dir().resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), base.replace("\"llama\"", "\"qwen2\"")
                .replace("\"eos_token_id\": 2", "\"eos_token_id\": [2, 7]"));
        LlamaConfig qwen = LlamaConfig.fromJson(dir.resolve("config.json"));
        assertTrue(qwen.qkvBias() && !qwen.attentionBias());
        assertEquals(java.util.List.of(2, 7), qwen.eosTokenIds());
        assertEquals("Qwen2ForCausalLM", qwen.architecture());
        Files.writeString(dir.resolve("config.json"), base.replace("\"llama\"", "\"mistral\"")
                .replace("\"rope_scaling\": null", "\"sliding_window\": 4, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"));
        LlamaConfig mistral = LlamaConfig.fromJson(dir.resolve("config.json"));
        assertEquals(4, mistral.slidingWindow());
        assertEquals(RopeScaling.Type.LINEAR, mistral.ropeScaling().type());
        assertTrue(!mistral.qkvBias());
    }

    private String firstShard() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted()
                    .findFirst().orElseThrow();
        }
    }
}

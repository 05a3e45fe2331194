package io.peft4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code generation_config.json} as transformers writes it, and the config's own checks. */
class GenerationConfigTest {
    @TempDir
    Path dir;

    @Test
    void readsLlama2GenerationConfig() throws IOException {
        // meta-llama/Llama-2-7b-chat-hf's generation_config.json, as published.
        Path f = write("{\n  \"bos_token_id\": 1,\n  \"do_sample\": true,\n  \"eos_token_id\": 2,\n  \"max_length\": 4096,\n"
                + "  \"pad_token_id\": 0,\n  \"temperature\": 0.6,\n  \"top_p\": 0.9,\n  \"transformers_version\": \"4.32.0.dev0\"\n}");
        GenerationConfig c = GenerationConfig.fromJson(f);
        assertTrue(c.doSample());
        assertEquals(List.of(2L), c.eosTokenIds());
        assertEquals(0L, c.padTokenId());
        assertEquals(0.6f, c.temperature());
        assertEquals(0.9f, c.topP());
        assertEquals(50, c.topK(), "transformers' default top_k");
        assertEquals(20, c.maxNewTokens(), "max_length is ignored; the default max_new_tokens stays");
        assertEquals(1f, c.repetitionPenalty());
        assertNull(c.seed());
    }

    @Test
    void readsSeveralEosIdsAndStopStrings() throws IOException {
        // eos_token_id as in meta-llama/Llama-3.1-8B-Instruct's generation_config.json.
        Path f = write("{\"eos_token_id\": [128001, 128008, 128009], \"stop_strings\": \"###\", \"max_new_tokens\": 64,"
                + " \"top_k\": 0, \"repetition_penalty\": 1.1, \"seed\": 1234}");
        GenerationConfig c = GenerationConfig.fromJson(f);
        assertEquals(List.of(128001L, 128008L, 128009L), c.eosTokenIds());
        assertEquals(List.of("###"), c.stopStrings());
        assertEquals(64, c.maxNewTokens());
        assertEquals(0, c.topK());
        assertEquals(1.1f, c.repetitionPenalty());
        assertEquals(1234L, c.seed());
        assertFalse(c.doSample());
    }

    @Test
    void wrongTypesAndBadJsonNameTheFileAndField() throws IOException {
        Path f = write("{\"max_new_tokens\": \"64\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.fromJson(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("max_new_tokens"), e.getMessage());
        Path trailing = write("{\"top_p\": 0.9,}");
        e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.fromJson(trailing));
        assertTrue(e.getMessage().contains(trailing.toString()), e.getMessage());
        Path badP = write("{\"top_p\": 1.5}");
        e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.fromJson(badP));
        assertTrue(e.getMessage().contains("top_p"), e.getMessage());
    }

    @Test
    void builderRefusesOutOfRangeValues() {
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().temperature(0).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().topK(-1).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().maxNewTokens(-1).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().repetitionPenalty(0).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().stopStrings(List.of("")).build());
        GenerationConfig c = GenerationConfig.builder().seed(5).padTokenId(3).build();
        assertEquals(c.toString(), c.toBuilder().build().toString());
    }

    private Path write(String json) throws IOException {
        Path f = Files.createTempFile(dir, "generation_config", ".json");
        Files.writeString(f, json);
        return f;
    }
}

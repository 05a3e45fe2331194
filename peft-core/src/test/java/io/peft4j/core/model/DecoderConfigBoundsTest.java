package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A billion layers in a decoder's config.json is refused while reading it, naming file and field. */
class DecoderConfigBoundsTest {
    @TempDir
    Path dir;

    private Path edited(String json, String field, long value) throws IOException {
        ObjectNode n = (ObjectNode) new ObjectMapper().readTree(json);
        n.put(field, value);
        Path f = dir.resolve("config.json");
        Files.writeString(f, n.toString());
        return f;
    }

    @Test
    void llamaLayersAreBounded() throws IOException {
        Path f = edited(LlamaConfig.builder().build().toJson(), "num_hidden_layers", 1_000_000_000L);
        IOException e = assertThrows(IOException.class, () -> LlamaConfig.fromJson(f));
        assertTrue(e.getMessage().startsWith(f.toString())
                && e.getMessage().contains("num_hidden_layers must be in [1, 1024], got 1000000000"), e.getMessage());
    }

    @Test
    void gpt2LayersAreBounded() throws IOException {
        Path f = edited(Gpt2Config.builder().build().toJson(), "n_layer", 2000L);
        IOException e = assertThrows(IOException.class, () -> Gpt2Config.fromJson(f));
        assertTrue(e.getMessage().startsWith(f.toString())
                && e.getMessage().contains("n_layer must be in [1, 1024], got 2000"), e.getMessage());
    }
}

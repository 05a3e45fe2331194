package io.peft4j.core.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.tuner.ConfigFileException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** config.json values outside sane bounds are refused before anything is built, naming file and field. */
class BertConfigBoundsTest {
    @TempDir
    Path dir;

    private static final String BASE = "\"model_type\": \"bert\", \"vocab_size\": 64, \"hidden_size\": 16, "
            + "\"intermediate_size\": 32, \"max_position_embeddings\": 32";

    private Path config(String extra) throws IOException {
        Path f = dir.resolve("config.json");
        // The field under test replaces the base value (a repeated key would be rejected as a duplicate).
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = (ObjectNode) json.readTree("{" + BASE + ", \"num_attention_heads\": 4}");
        n.setAll((ObjectNode) json.readTree("{" + extra + "}"));
        Files.writeString(f, n.toString());
        return f;
    }

    private void rejects(String extra, String fragment) throws IOException {
        Path f = config(extra);
        IOException e = assertThrows(IOException.class, () -> BertConfig.fromJson(f));
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "says '" + fragment + "': " + e.getMessage());
    }

    @Test
    void aBillionLayersIsRefusedAtOnce() throws IOException {
        rejects("\"num_hidden_layers\": 1000000000", "num_hidden_layers must be an integer in [1, 1024], got 1000000000");
        rejects("\"num_hidden_layers\": 0", "num_hidden_layers must be an integer in [1, 1024], got 0");
    }

    @Test
    void probabilitiesEpsilonAndHeadsAreChecked() throws IOException {
        rejects("\"hidden_dropout_prob\": 2.0", "hidden_dropout_prob must be a probability in [0, 1), got 2.0");
        rejects("\"attention_probs_dropout_prob\": 1", "attention_probs_dropout_prob must be a probability in [0, 1), got 1.0");
        rejects("\"hidden_dropout_prob\": -0.1", "hidden_dropout_prob must be a probability");
        rejects("\"layer_norm_eps\": -1", "layer_norm_eps must be positive and finite, got -1.0");
        rejects("\"layer_norm_eps\": 0", "layer_norm_eps must be positive and finite");
        rejects("\"num_attention_heads\": 5", "hidden_size 16 must be a positive multiple of num_attention_heads 5");
        rejects("\"vocab_size\": -3", "vocab_size must be positive, got -3");
        rejects("\"hidden_size\": 4294967312", "hidden_size must be an integer, got 4294967312");
    }

    @Test
    void truncatedConfigIsAPeft4jExceptionNamingTheFile() throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{" + BASE);
        ConfigFileException e = assertThrows(ConfigFileException.class, () -> BertConfig.fromJson(f));
        assertTrue(e.getMessage().startsWith(f + ": is not valid JSON"), e.getMessage());
    }

    @Test
    void aValidConfigStillReads() throws IOException {
        BertConfig c = BertConfig.fromJson(config("\"num_hidden_layers\": 3, \"layer_norm_eps\": 1e-7"));
        assertEquals(3, c.numHiddenLayers());
        assertEquals(1e-7f, c.layerNormEps());
        assertEquals(4, c.headDim());
    }
}

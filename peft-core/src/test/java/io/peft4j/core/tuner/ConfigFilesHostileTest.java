package io.peft4j.core.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Config files as a careless or hostile user makes them: each a peft4j exception naming file and fault. */
class ConfigFilesHostileTest {
    @TempDir
    Path dir;

    private Path file(byte[] bytes) throws IOException {
        Path f = dir.resolve("config.json");
        Files.write(f, bytes);
        return f;
    }

    private Path file(String text) throws IOException {
        return file(text.getBytes(StandardCharsets.UTF_8));
    }

    private static void rejects(Path f, String fragment) {
        ConfigFileException e = assertThrows(ConfigFileException.class, () -> ConfigJson.readObject(f));
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "says '" + fragment + "': " + e.getMessage());
    }

    @Test
    void truncatedJsonNamesTheFile() throws IOException {
        rejects(file("{\"r\": 8, \"lora_alpha\": 1"), "not valid JSON");
    }

    @Test
    void utf32BytesAreNotUtf8() throws IOException {
        // UTF-32 is what Jackson's own detection would guess here, and then fail with CharConversionException.
        rejects(file("{\"r\": 8}".getBytes(Charset.forName("UTF-32BE"))), "not UTF-8");
        rejects(file(new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}), "not UTF-8");
    }

    @Test
    void duplicateKeysTrailingContentAndNonObjectsAreRejected() throws IOException {
        rejects(file("{\"r\": 8, \"r\": 16}"), "Duplicate field 'r'");
        rejects(file("{\"r\": 8} {\"r\": 16}"), "not valid JSON");
        rejects(file("[1, 2]"), "must hold a JSON object, got array");
        rejects(file(""), "must hold a JSON object, got nothing");
    }

    @Test
    void integersBeyond32BitsAreRejectedNotWrapped() throws IOException {
        ConfigJson j = ConfigJson.of(new ObjectMapper().readTree("{\"r\": 4294967304, \"n\": 5}"), "LoraConfig");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> j.intField("r", 8));
        assertTrue(e.getMessage().contains("LoraConfig: r must be an integer, got 4294967304"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> j.intField("r", 8, 1, 1 << 20));
        assertTrue(e.getMessage().contains("r must be an integer in [1, 1048576], got 4294967304"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> j.intField("n", 8, 6, 10));
        assertTrue(e.getMessage().contains("n must be an integer in [6, 10], got 5"), e.getMessage());
        assertEquals(5, j.intField("n", 8, 1, 5));
    }

    @Test
    void numbersBeyondFloatRangeAreRejectedNotInfinite() throws IOException {
        ConfigJson j = ConfigJson.of(new ObjectMapper().readTree(
                "{\"lora_alpha\": 1e39, \"alpha_pattern\": {\"query\": -1e39}, \"ok\": 3.4e38}"), "LoraConfig");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> j.floatField("lora_alpha", 8));
        assertTrue(e.getMessage().contains("lora_alpha must be a finite number within float range, got 1.0E39"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> j.floatMap("alpha_pattern"));
        assertTrue(e.getMessage().contains("alpha_pattern['query'] must be a finite number"), e.getMessage());
        assertEquals(3.4e38f, j.floatField("ok", 0f));
    }
}

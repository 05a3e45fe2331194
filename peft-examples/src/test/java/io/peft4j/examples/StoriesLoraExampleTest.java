package io.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@link StoriesLoraExample} ships and reads, without its two-minute training run: the model
 * files are peft-core's stories260K test fixture byte for byte, and the dataset reads as 320 stories
 * (the script's COUNT), each BOS first, none truncated, each about Pip.
 */
class StoriesLoraExampleTest {
    private static final Path FIXTURE = Path.of("../peft-core/src/test/resources/models/stories260K");

    @TempDir
    Path dir;

    @Test
    void theExtractedModelIsTheTestFixtureByteForByte() throws Exception {
        Path extracted = StoriesLoraExample.extractModel();
        try {
            for (String f : StoriesLoraExample.MODEL_FILES) {
                assertArrayEquals(Files.readAllBytes(FIXTURE.resolve(f)), Files.readAllBytes(extracted.resolve(f)), f);
            }
            assertArrayEquals(Files.readAllBytes(FIXTURE.resolve("LICENSE")),
                    StoriesLoraExample.resource(StoriesLoraExample.MODEL_RESOURCE + "LICENSE").readAllBytes(), "LICENSE");
        } finally {
            FileTrees.delete(extracted);
        }
        assertTrue(Files.notExists(extracted));
    }

    @Test
    void theDatasetIs320StoriesAboutPipEachBosFirstAndNoneTruncated() throws Exception {
        Path file = dir.resolve("train.jsonl");
        try (InputStream in = StoriesLoraExample.resource(StoriesLoraExample.DATASET_RESOURCE)) {
            Files.copy(in, file);
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(320, lines.size());
        for (String line : lines) {
            assertTrue(line.startsWith("{\"text\": \"<s>") && line.contains("Pip"), line);
        }
        try (TextTokenizer tokenizer = TextTokenizer.fromJson(FIXTURE.resolve("tokenizer.json"), StoriesLoraExample.MAX_TOKENS)) {
            CausalLmData data = CausalLmData.builder(tokenizer).read(file);
            assertEquals(320, data.size());
            long pip = tokenizer.tokenIds("Pip")[0];
            for (int i = 0; i < data.size(); i++) {
                long[] ids = data.inputIds(i);
                assertEquals(StoriesLoraExample.BOS_ID, ids[0], "story " + i + " starts with <s>");
                assertTrue(ids.length < StoriesLoraExample.MAX_TOKENS, "story " + i + " has " + ids.length + " tokens: truncated");
                assertTrue(contains(ids, pip), "story " + i + " has Pip's first token " + pip);
            }
        }
    }

    private static boolean contains(long[] ids, long id) {
        for (long x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }
}

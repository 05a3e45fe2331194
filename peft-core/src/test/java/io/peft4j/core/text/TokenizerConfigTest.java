package io.peft4j.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.model.llama.Stories260K;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** tokenizer_config.json's fields as transformers writes them: stories260K's real file and small hand-written ones. */
class TokenizerConfigTest {
    @Test
    void readsStories260KsTokenizerConfig() throws IOException {
        // Its file: add_bos_token true, add_eos_token false, bos "<s>", eos "</s>", pad null, padding_side right.
        TokenizerConfig c = TokenizerConfig.fromModelDirectory(Stories260K.dir());
        assertTrue(c.addBosToken());
        assertFalse(c.addEosToken());
        assertEquals(Optional.of("<s>"), c.bosToken());
        assertEquals(Optional.of("</s>"), c.eosToken());
        assertEquals(Optional.empty(), c.padToken());
        assertEquals("right", c.paddingSide());
        assertTrue(c.chatTemplate().isEmpty(), "a base model without a chat template");
    }

    @Test
    void defaultsWithoutAFileAndErrorsNamingTheField(@TempDir Path dir) throws IOException {
        TokenizerConfig none = TokenizerConfig.fromModelDirectory(dir);
        assertFalse(none.addBosToken());
        assertEquals("right", none.truncationSide());
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"eos_token\": {\"content\": \"<|endoftext|>\"}, \"padding_side\": \"left\", \"chat_template\": \"{{ eos_token }}\"}");
        TokenizerConfig gpt2 = TokenizerConfig.fromModelDirectory(dir);
        assertEquals(Optional.of("<|endoftext|>"), gpt2.eosToken());
        assertEquals("left", gpt2.paddingSide());
        assertEquals("<|endoftext|>", gpt2.chatTemplate().orElseThrow().render(java.util.List.of(), false));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"truncation_side\": \"middle\"}");
        IOException e = assertThrows(IOException.class, () -> TokenizerConfig.fromModelDirectory(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("'truncation_side'"),
                e.getMessage());
    }
}

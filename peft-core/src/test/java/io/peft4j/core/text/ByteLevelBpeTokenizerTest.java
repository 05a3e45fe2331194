package io.peft4j.core.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

/**
 * GPT-2's byte-level BPE through DJL's tokenizers: a small tokenizer.json trained by Hugging Face's
 * {@code tokenizers} library (npm; peft-core/src/test/js/make_byte_level_bpe.js) and the ids and decoded
 * texts that library gave for strings with leading, double and trailing spaces, accents, CJK, an emoji,
 * tabs and newlines. Ids must match exactly and decoding must give the text back byte for byte.
 */
class ByteLevelBpeTokenizerTest {
    private static Path dir() throws Exception {
        return Path.of(ByteLevelBpeTokenizerTest.class.getResource("/tokenizers/byte-level-bpe/expected.json").toURI()).getParent();
    }

    @Test
    void idsAndDecodingMatchTheTokenizersLibrary() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(dir().resolve("expected.json").toFile());
        try (TextTokenizer tok = TextTokenizer.fromJson(dir().resolve("tokenizer.json"), 128);
                NDManager m = Compute.newManager()) {
            for (JsonNode c : expected.get("cases")) {
                String text = c.get("text").asText();
                long[] ids = new long[c.get("ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.get("ids").get(i).asLong();
                }
                assertArrayEquals(ids, tok.tokenIds(text), text);
                // GPT-2's tokenizer adds no special tokens: the model-input encoding holds the same ids.
                assertArrayEquals(ids, tok.encode(m, List.of(text)).get(0).toLongArray(), text);
                assertEquals(c.get("decoded").asText(), tok.decode(ids), text);
                assertEquals(text, tok.decode(ids), "decoding gives the text back: " + text);
            }
            JsonNode special = expected.get("special");
            long[] ids = new long[special.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = special.get("ids").get(i).asLong();
            }
            assertArrayEquals(ids, tok.tokenIds(special.get("text").asText()));
            assertEquals(expected.get("endoftext_id").asLong(), tok.tokenId("<|endoftext|>"));
            assertEquals("ab", tok.decode(ids), "special tokens are skipped when decoding");
        }
    }
}

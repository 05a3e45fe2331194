package io.peft4j.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.text.ChatTemplate;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.text.TokenizerConfig;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * CausalLmData's options on stories260K's real tokenizer (Llama SentencePiece BPE; its tokenizer_config.json
 * says add_bos_token true, add_eos_token false, {@code <s>} = 1, {@code </s>} = 2). Expected ids are built in
 * the test by slicing and concatenating the tokenizer's ids of the texts involved; rendered chat text comes
 * from Jinja2 (chat-templates/expected.json).
 */
class CausalLmDataOptionsTest {
    private static final long BOS = 1;
    private static final long EOS = 2;
    private static TextTokenizer tok;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        tok = TextTokenizer.fromJson(Stories260K.dir().resolve("tokenizer.json"), 512);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    private Path file(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content);
    }

    private static long[] concat(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }

    @Test
    void tokenizerConfigAddsBosBeforeAndEosAfterTheCompletion() throws IOException {
        Path f = file("pc.jsonl", "{\"prompt\": \"Once upon a time\", \"completion\": \" there was a cat.\"}\n");
        CausalLmData d = CausalLmData.builder(tok).tokenizerConfig(TokenizerConfig.fromModelDirectory(Stories260K.dir())).read(f);
        long[] prompt = tok.tokenIds("Once upon a time");
        long[] completion = tok.tokenIds(" there was a cat.");
        assertArrayEquals(concat(new long[] {BOS}, prompt, completion, new long[] {EOS}), d.inputIds(0));
        long[] labels = d.labels(0);
        for (int k = 0; k < labels.length; k++) {
            boolean trained = k > prompt.length;   // BOS and the prompt are masked
            assertEquals(trained ? d.inputIds(0)[k] : -100, labels[k], "position " + k);
        }
        CausalLmData all = CausalLmData.builder(tok).bosToken("<s>").maskPrompt(false).read(f);
        assertEquals(-100, all.labels(0)[0], "BOS is never a target");
        assertEquals(prompt[0], all.labels(0)[1]);
    }

    @Test
    void truncationKeepsTheStartOrTheEnd() throws IOException {
        String text = "Lily and Ben went to the park to play with a big red ball.";
        Path f = file("t.jsonl", "{\"text\": \"" + text + "\"}\n");
        long[] ids = tok.tokenIds(text);
        assertTrue(ids.length > 6, "the text is longer than the limit");
        CausalLmData right = CausalLmData.builder(tok).maxLength(6).read(f);
        assertArrayEquals(Arrays.copyOfRange(ids, 0, 6), right.inputIds(0));
        CausalLmData left = CausalLmData.builder(tok).maxLength(6).truncationSide(Side.LEFT).read(f);
        assertArrayEquals(Arrays.copyOfRange(ids, ids.length - 6, ids.length), left.inputIds(0));

        // A completion cut away entirely leaves nothing to learn: an error naming the line.
        Path cut = file("c.jsonl", "{\"prompt\": \"" + text + "\", \"completion\": \" Yes.\"}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> CausalLmData.builder(tok).maxLength(6).read(cut));
        assertTrue(e.getMessage().contains("c.jsonl line 1") && e.getMessage().contains("no token to learn"), e.getMessage());
    }

    @Test
    void leftPaddingPutsPadsFirstWithPositionsFromEachExamplesStart() throws IOException {
        Path f = file("p.jsonl", "{\"text\": \"The cat sat.\"}\n{\"text\": \"A dog ran to the big tree.\"}\n");
        long[] a = tok.tokenIds("The cat sat.");
        long[] b = tok.tokenIds("A dog ran to the big tree.");
        assertTrue(b.length > a.length);
        int t = b.length;
        int pad = t - a.length;
        CausalLmData d = CausalLmData.builder(tok).paddingSide(Side.LEFT).padTokenId(EOS).read(f);
        try (NDManager m = Compute.newManager()) {
            Batch batch = d.batch(m, new int[] {0, 1});
            long[] ids = batch.require(Batch.INPUT_IDS).toLongArray();
            long[] mask = batch.require(Batch.ATTENTION_MASK).toLongArray();
            long[] labels = batch.require(Batch.LABELS).toLongArray();
            long[] positions = batch.require(Batch.POSITION_IDS).toLongArray();
            for (int k = 0; k < t; k++) {
                boolean padding = k < pad;
                assertEquals(padding ? EOS : a[k - pad], ids[k], "row 0 id " + k);
                assertEquals(padding ? 0 : 1, mask[k]);
                assertEquals(padding ? -100 : a[k - pad], labels[k]);
                assertEquals(padding ? 0 : k - pad, positions[k]);
                assertEquals(b[k], ids[t + k]);
                assertEquals(k, positions[t + k]);
                assertEquals(1, mask[t + k]);
            }
        }
        try (NDManager m = Compute.newManager()) {
            Batch right = CausalLmData.builder(tok).read(f).batch(m, new int[] {0, 1});
            assertFalse(right.has(Batch.POSITION_IDS), "right padding keeps the families' own 0..T-1 positions");
            assertEquals(1, right.require(Batch.ATTENTION_MASK).toLongArray()[0]);
        }
    }

    @Test
    void packingConcatenatesExamplesWithEosIntoFullRows() throws IOException {
        String[] texts = {"The sun was hot.", "Tom had a red ball.", "They played all day long in the park."};
        StringBuilder jsonl = new StringBuilder();
        long[] stream = new long[0];
        for (String t : texts) {
            jsonl.append("{\"text\": \"").append(t).append("\"}\n");
            stream = concat(stream, tok.tokenIds(t), new long[] {EOS});
        }
        Path f = file("pack.jsonl", jsonl.toString());
        int row = 8;
        CausalLmData d = CausalLmData.builder(tok).eosToken("</s>").addEosToText(true).packing(true).maxLength(row).read(f);
        int full = stream.length / row;
        int rest = stream.length % row;
        assertEquals(full + (rest >= 2 ? 1 : 0), d.size());
        for (int i = 0; i < d.size(); i++) {
            int from = i * row;
            long[] want = Arrays.copyOfRange(stream, from, Math.min(from + row, stream.length));
            assertArrayEquals(want, d.inputIds(i), "row " + i);
            assertArrayEquals(want, d.labels(i), "text is trained everywhere, EOS included");
        }
    }

    @Test
    void chatTemplateTrainsTheAssistantTurnWithItsClosingToken() throws Exception {
        ChatTemplate zephyr = ChatTemplate.fromTokenizerConfig(
                Path.of(getClass().getResource("/chat-templates/zephyr.tokenizer_config.json").toURI())).orElseThrow();
        Path f = file("chat.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"},"
                + " {\"role\": \"user\", \"content\": \"Name a colour.\"}, {\"role\": \"assistant\", \"content\": \"Blue.\"}]}\n");
        // Jinja2's rendering (expected.json, zephyr / system): "</s>" is stories260K's EOS, written by the template.
        String rendered = "<|system|>\nYou are terse.</s>\n<|user|>\nName a colour.</s>\n<|assistant|>\nBlue.</s>\n";
        CausalLmData all = CausalLmData.builder(tok).chatTemplate(zephyr).maskPrompt(false).read(f);
        assertArrayEquals(tok.tokenSpans(rendered).ids(), all.inputIds(0));
        assertEquals(3, Arrays.stream(all.inputIds(0)).filter(id -> id == EOS).count(), "the template's </s> is one token");

        CausalLmData d = CausalLmData.builder(tok).chatTemplate(zephyr).read(f);
        long[] ids = d.inputIds(0);
        long[] labels = d.labels(0);
        // The trained tokens are one run at the end: the reply after "<|assistant|>\n", its </s> and the "\n".
        int first = 0;
        while (labels[first] == -100) {
            first++;
        }
        for (int k = first; k < ids.length; k++) {
            assertEquals(ids[k], labels[k], "position " + k);
        }
        // The space before "\n": this legacy SentencePiece tokenizer prepends "▁" to each text segment, and the
        // "\n" after the special token </s> is its own segment (transformers' legacy Llama tokenizers do the same).
        assertEquals("Blue. \n", tok.decode(Arrays.copyOfRange(ids, first, ids.length)));
        assertEquals("You are terse. Name a colour. Blue.", tok.decode(ids).replace("<|system|>", "").replace("<|user|>", "")
                .replace("<|assistant|>", "").replaceAll("\\s+", " ").strip(), "the masked part is the rest of the text");
        assertEquals(1, Arrays.stream(labels).filter(id -> id == EOS).count());
    }

    @Test
    void aTemplateWhosePrefixesAreNotPrefixesIsRefusedForAssistantOnlyLoss() throws IOException {
        ChatTemplate counting = ChatTemplate.of("{{ messages | length }}{% for m in messages %}{{ m.content }}{% endfor %}", Map.of());
        Path f = file("n.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> CausalLmData.builder(tok).chatTemplate(counting).read(f));
        assertTrue(e.getMessage().contains("n.jsonl line 1") && e.getMessage().contains("messages[1]"), e.getMessage());
        // Training on every token needs no spans.
        assertArrayEquals(tok.tokenIds("2ab"), CausalLmData.builder(tok).chatTemplate(counting).maskPrompt(false).read(f).inputIds(0));
        // A template's raise_exception names the record.
        ChatTemplate refusing = ChatTemplate.of("{{ raise_exception('No system role') }}", Map.of());
        DataFormatException raised = assertThrows(DataFormatException.class,
                () -> CausalLmData.builder(tok).chatTemplate(refusing).read(f));
        assertTrue(raised.getMessage().contains("n.jsonl line 1") && raised.getMessage().contains("No system role"),
                raised.getMessage());
    }
}

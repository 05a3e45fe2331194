package io.peft4j.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

class DataReadersTest {
    private static TextTokenizer tok;

    @TempDir
    Path dir;

    @BeforeAll
    static void tokenizer() throws IOException {
        tok = PretrainedEncoder.ALL_MINILM_L6_V2.tokenizer(32);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    private Path file(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    private static void assertFails(Executable e, String... parts) {
        Exception ex = assertThrows(Exception.class, e);
        for (String part : parts) {
            assertTrue(ex.getMessage().contains(part), "'" + part + "' in: " + ex.getMessage());
        }
    }

    @Test
    void classificationReadsTheSameExamplesFromJsonlCsvAndTsv() throws IOException {
        Path jsonl = file("a.jsonl", "{\"text\": \"good, really\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": \"neg\"}\n");
        Path csv = file("a.csv", "text,label\n\"good, really\",pos\nbad,neg\n");
        Path tsv = file("a.tsv", "label\ttext\npos\tgood, really\nneg\tbad\n");
        for (Path p : List.of(jsonl, csv, tsv)) {
            TextClassificationData d = TextClassificationData.read(p, tok);
            assertEquals(List.of("neg", "pos"), d.labelNames(), p.toString());
            assertEquals(List.of("good, really", "bad"), d.texts(), p.toString());
            assertEquals(1, d.label(0));
            assertEquals(0, d.label(1));
        }
        // Numeric labels are matched by their text.
        TextClassificationData numeric = TextClassificationData.read(file("n.jsonl", "{\"text\": \"x\", \"label\": 1}\n"),
                List.of("0", "1"), tok);
        assertEquals(1, numeric.label(0));
    }

    @Test
    void errorsNameFileLineAndField() throws IOException {
        Path missing = file("m.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"y\"}\n{\"text\": \"c\"}\n");
        assertFails(() -> TextClassificationData.read(missing, tok), "m.jsonl line 3", "missing field 'label'", "[text]");
        Path typed = file("t.jsonl", "{\"text\": 5, \"label\": \"x\"}\n");
        assertFails(() -> TextClassificationData.read(typed, tok), "t.jsonl line 1", "field 'text' must be a string, got number");
        Path broken = file("b.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \n");
        assertFails(() -> TextClassificationData.read(broken, tok), "b.jsonl line 2", "not valid JSON");
        Path unknown = file("u.jsonl", "{\"text\": \"a\", \"label\": \"z\"}\n");
        assertFails(() -> TextClassificationData.read(unknown, List.of("x", "y"), tok), "u.jsonl line 1", "'z' is not one of [x, y]");
        // A quoted cell spanning two lines: the next record starts on line 4.
        Path csv = file("c.csv", "text,label\n\"two\nlines\",x\nthree,\n");
        assertFails(() -> TextClassificationData.read(csv, tok), "c.csv line 4", "'label'");
        Path ragged = file("r.csv", "text,label\na,x,extra\n");
        assertFails(() -> TextClassificationData.read(ragged, tok), "r.csv line 2");
        assertFails(() -> TextClassificationData.read(file("d.txt", "x"), tok), "d.txt", ".jsonl");
    }

    @Test
    void promptCompletionMasksThePromptWhenAsked() throws IOException {
        Path f = file("lm.jsonl", "{\"prompt\": \"the capital of france is\", \"completion\": \" paris\"}\n"
                + "{\"text\": \"hello world again\"}\n");
        long[] prompt = tok.tokenIds("the capital of france is");
        long[] completion = tok.tokenIds(" paris");
        long sep = tok.tokenId("[SEP]");
        CausalLmData masked = CausalLmData.builder(tok).eosToken("[SEP]").read(f);
        long[] ids = masked.inputIds(0);
        assertEquals(prompt.length + completion.length + 1, ids.length);
        long[] labels = masked.labels(0);
        for (int k = 0; k < ids.length; k++) {
            boolean isPrompt = k < prompt.length;
            assertEquals(isPrompt ? -100 : ids[k], labels[k], "position " + k);
        }
        assertEquals(sep, ids[ids.length - 1]);
        assertArrayEquals(tok.tokenIds("hello world again"), masked.labels(1));
        CausalLmData plain = CausalLmData.builder(tok).maskPrompt(false).read(f);
        assertArrayEquals(plain.inputIds(0), plain.labels(0));

        try (NDManager m = Compute.newManager()) {
            Batch b = masked.batch(m, new int[] {1, 0});
            int t = ids.length;
            assertEquals(t, b.require(Batch.INPUT_IDS).getShape().get(1));
            long[] mask = b.require(Batch.ATTENTION_MASK).toLongArray();
            long[] lab = b.require(Batch.LABELS).toLongArray();
            int first = tok.tokenIds("hello world again").length;
            for (int k = 0; k < t; k++) {
                assertEquals(k < first ? 1 : 0, mask[k]);
                if (k >= first) {
                    assertEquals(-100, lab[k], "padding is ignored");
                }
            }
            assertFalse(b.has(Batch.TOKEN_TYPE_IDS));
        }
    }

    @Test
    void chatMessagesTrainOnlyTheAssistantWhenMasked() throws IOException {
        String messages = "[{\"role\": \"user\", \"content\": \"hi there\"}, {\"role\": \"assistant\", \"content\": \"hello friend\"}]";
        Path f = file("chat.jsonl", "{\"messages\": " + messages + "}\n");
        CausalLmData d = CausalLmData.builder(tok).read(f);
        long[] ids = d.inputIds(0);
        long[] want = concat(tok.tokenIds("<|user|>\n"), tok.tokenIds("hi there"), tok.tokenIds("\n"),
                tok.tokenIds("<|assistant|>\n"), tok.tokenIds("hello friend"), tok.tokenIds("\n"));
        assertArrayEquals(want, ids);
        long[] labels = d.labels(0);
        int start = tok.tokenIds("<|user|>\n").length + tok.tokenIds("hi there").length + tok.tokenIds("\n").length
                + tok.tokenIds("<|assistant|>\n").length;
        int end = start + tok.tokenIds("hello friend").length;
        for (int k = 0; k < ids.length; k++) {
            assertEquals(k >= start && k < end ? ids[k] : -100, labels[k], "position " + k);
        }
        // The same list as JSON text in a CSV cell.
        Path csv = file("chat.csv", "messages\n\"" + messages.replace("\"", "\"\"") + "\"\n");
        assertArrayEquals(labels, CausalLmData.builder(tok).read(csv).labels(0));

        Path badRole = file("r.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"bot\", \"content\": \"b\"}]}\n");
        assertFails(() -> CausalLmData.builder(tok).read(badRole), "r.jsonl line 1", "messages[1].role", "'bot'");
        Path noAssistant = file("n.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a b c\"}]}\n");
        assertFails(() -> CausalLmData.builder(tok).read(noAssistant), "n.jsonl line 1", "no 'assistant' message");
        Path neither = file("x.jsonl", "{\"question\": \"a\"}\n");
        assertFails(() -> CausalLmData.builder(tok).read(neither), "x.jsonl line 1", "'prompt' and 'completion'");
        Path noCompletion = file("p.jsonl", "{\"prompt\": \"a\"}\n");
        assertFails(() -> CausalLmData.builder(tok).read(noCompletion), "p.jsonl line 1", "missing field 'completion'");
    }

    private static long[] concat(long[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToLong(java.util.Arrays::stream).toArray();
    }

    @Test
    void sentencePairsCarryEachColumnUnderItsPrefix() throws IOException {
        Path f = file("pairs.tsv", "anchor\tpositive\tnegative\nwhat is java\tjava is a language\tcoffee beans\n"
                + "sunny day\tthe weather is fine\train all week\n");
        SentencePairData d = SentencePairData.read(f, tok);
        assertTrue(d.hasNegatives());
        try (NDManager m = Compute.newManager()) {
            Batch b = d.batch(m, new int[] {0, 1});
            for (String prefix : List.of("anchor_", "positive_", "negative_")) {
                assertEquals(2, b.require(prefix + Batch.INPUT_IDS).getShape().get(0));
                assertTrue(b.has(prefix + Batch.ATTENTION_MASK));
            }
            long[] anchorIds = b.require("anchor_" + Batch.INPUT_IDS).toLongArray();
            long[] want = tok.encode(m, List.of("what is java", "sunny day")).get(0).toLongArray();
            assertArrayEquals(want, anchorIds);
        }
        Path mixed = file("mixed.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"c\", \"positive\": \"d\", \"negative\": \"e\"}\n");
        assertFails(() -> SentencePairData.read(mixed, tok), "mixed.jsonl line 2", "'negative'");
        Path missing = file("miss.csv", "anchor,positive\na,\n");
        assertFails(() -> SentencePairData.read(missing, tok), "miss.csv line 2", "missing field 'positive'");
    }
}

package io.peft4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link Generator} on {@link TinyDecoder} (2 layers, 2 heads, vocab 24, random weights) against
 * {@link DecoderReference}, a double-precision Java forward that recomputes the whole prefix every
 * step. Ids must match exactly: float32 and double argmaxes agree unless two logits are within float
 * rounding, which these fixed weights do not produce (a disagreement would show as a failure here).
 */
class GeneratorTest {
    private static final int VOCAB = 24;
    private static final long[][] PROMPTS = {{3, 7}, {1, 15, 4, 9, 22}, {11, 2, 6}};
    private static final int N = 12;
    private static PeftModel model;
    private static DecoderReference reference;

    @BeforeAll
    static void build() {
        model = TinyDecoder.create(42, VOCAB, 16, 96);
        reference = new DecoderReference(model);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Generator generator(GenerationConfig config, boolean cache) {
        return Generator.builder(model).config(config).useCache(cache).build();
    }

    @Test
    void greedyEqualsDoubleReferenceWithAndWithoutCache() {
        for (long[] prompt : PROMPTS) {
            long[] expected = reference.greedy(prompt, N);
            for (boolean cache : new boolean[] {true, false}) {
                Generation g = generator(GenerationConfig.greedy(N), cache).generate(new long[][] {prompt});
                assertArrayEquals(expected, g.tokens(0), "prompt " + Arrays.toString(prompt) + ", cache " + cache);
                assertEquals(Generation.StopReason.MAX_NEW_TOKENS, g.stopReason(0));
            }
        }
    }

    @Test
    void leftPaddedBatchGivesEachPromptsOwnIds() {
        for (boolean cache : new boolean[] {true, false}) {
            Generation g = generator(GenerationConfig.greedy(N), cache).generate(PROMPTS);
            for (int i = 0; i < PROMPTS.length; i++) {
                assertArrayEquals(reference.greedy(PROMPTS[i], N), g.tokens(i), "row " + i + ", cache " + cache);
            }
        }
    }

    @Test
    void repetitionPenaltyMatchesReference() {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(N).repetitionPenalty(1.8f).build();
        Generation g = generator(config, true).generate(PROMPTS);
        for (int i = 0; i < PROMPTS.length; i++) {
            long[] expected = reference.greedy(PROMPTS[i], N, 1.8);
            assertArrayEquals(expected, g.tokens(i), "row " + i);
        }
        // The penalty must have changed something, or this test would not test it.
        assertNotEquals(Arrays.toString(reference.greedy(PROMPTS[0], N)), Arrays.toString(reference.greedy(PROMPTS[0], N, 1.8)));
    }

    @Test
    void seededSamplingIsReproducibleAndTheSameWithAndWithoutCache() {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(N).doSample(true).temperature(1.5f).topK(12)
                .topP(0.95f).repetitionPenalty(1.2f).seed(7).build();
        Generation cached = generator(config, true).generate(PROMPTS);
        Generation uncached = generator(config, false).generate(PROMPTS);
        Generation again = generator(config, true).generate(PROMPTS);
        Generation greedy = generator(GenerationConfig.greedy(N), true).generate(PROMPTS);
        boolean differsFromGreedy = false;
        for (int i = 0; i < PROMPTS.length; i++) {
            assertArrayEquals(cached.tokens(i), uncached.tokens(i), "row " + i);
            assertArrayEquals(cached.tokens(i), again.tokens(i), "row " + i);
            differsFromGreedy |= !Arrays.equals(cached.tokens(i), greedy.tokens(i));
        }
        assertTrue(differsFromGreedy, "sampling at temperature 1.5 should leave the greedy path somewhere");
    }

    @Test
    void eosStopsEachSequenceAndStreamingSeesExactlyTheReturnedTokens() {
        long[] ref0 = reference.greedy(PROMPTS[0], N);
        long eos = ref0[3];
        List<List<Long>> streamed = new ArrayList<>();
        for (int i = 0; i < PROMPTS.length; i++) {
            streamed.add(new ArrayList<>());
        }
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(N).eosTokenId(eos).padTokenId(0).build();
        Generation g = Generator.builder(model).config(config).listener((seq, id) -> streamed.get(seq).add(id)).build()
                .generate(PROMPTS);
        boolean someStopped = false;
        for (int i = 0; i < PROMPTS.length; i++) {
            long[] full = reference.greedy(PROMPTS[i], N);
            int stop = indexOf(full, eos);
            long[] expected = stop < 0 ? full : Arrays.copyOf(full, stop + 1);
            someStopped |= stop >= 0;
            assertArrayEquals(expected, g.tokens(i), "row " + i);
            assertEquals(stop < 0 ? Generation.StopReason.MAX_NEW_TOKENS : Generation.StopReason.EOS_TOKEN, g.stopReason(i));
            assertArrayEquals(expected, streamed.get(i).stream().mapToLong(Long::longValue).toArray(), "streamed row " + i);
            long[] padded = g.padded(0)[i];
            for (int t = expected.length; t < padded.length; t++) {
                assertEquals(0, padded[t], "row " + i + " is padded after it stopped");
            }
        }
        assertTrue(someStopped);
        boolean anotherRanLonger = false;
        for (int i = 1; i < PROMPTS.length; i++) {
            anotherRanLonger |= g.tokens(i).length > g.tokens(0).length;
        }
        assertTrue(anotherRanLonger, "row 0 stops early while another row runs on: per-sequence stopping is exercised");
    }

    @Test
    void stopStringStopsAndTextGenerationDecodesTheContinuation() throws IOException {
        try (TextTokenizer tokenizer = wordTokenizer()) {
            long[] full = reference.greedy(PROMPTS[0], N);
            String stop = word(full[4]);
            GenerationConfig config = GenerationConfig.builder().maxNewTokens(N).stopStrings(List.of(stop)).build();
            Generator generator = Generator.builder(model).config(config).tokenizer(tokenizer).build();
            Generation g = generator.generate(new long[][] {PROMPTS[0]});
            long[] expected = Arrays.copyOf(full, indexOf(full, full[4]) + 1);
            assertArrayEquals(expected, g.tokens(0));
            assertEquals(Generation.StopReason.STOP_STRING, g.stopReason(0));

            String text = Generator.builder(model).config(GenerationConfig.greedy(N)).tokenizer(tokenizer).build()
                    .generate(word(PROMPTS[0][0]) + " " + word(PROMPTS[0][1]));
            StringBuilder words = new StringBuilder();
            for (long id : full) {
                words.append(words.length() == 0 ? "" : " ").append(word(id));
            }
            assertEquals(words.toString(), text);
        }
    }

    @Test
    void stopStringsWithoutTokenizerAreRefused() {
        GenerationConfig config = GenerationConfig.builder().stopStrings(List.of("tok01")).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> generator(config, true));
        assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());
    }

    @Test
    void managedArraysStayFlatOver50Tokens() {
        int before = Memory.managedArrays(model.manager());
        int[] counts = new int[50];
        Generator generator = Generator.builder(model).config(GenerationConfig.greedy(50)).listener((seq, id) -> {
            if (seq == 0) {
                counts[stepOf(counts)] = Memory.managedArrays(model.manager());
            }
        }).build();
        Generation g = generator.generate(new long[][] {PROMPTS[0], PROMPTS[1]});
        assertEquals(50, g.tokens(0).length);
        // Between steps only the parameters and the cache (keys and values per layer) are alive.
        assertEquals(counts[5], counts[49], "arrays alive at step 5 and step 49: " + Arrays.toString(counts));
        assertEquals(before + 2 * TinyDecoder.LAYERS, counts[49], "parameters plus keys and values per layer");
        assertEquals(before, Memory.managedArrays(model.manager()), "the cache is freed when generation returns");
    }

    /** The first unfilled slot (counts are never 0: the model's parameters are always alive). */
    private static int stepOf(int[] counts) {
        int i = 0;
        while (counts[i] != 0) {
            i++;
        }
        return i;
    }

    private static int indexOf(long[] a, long v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /** Fixed-width words, so one word's text is never part of another's. */
    private static String word(long id) {
        return String.format("tok%02d", id);
    }

    /** A word-level tokenizer.json over {@code tok00..tok23}: encoding splits on spaces, decoding joins with spaces. */
    private static TextTokenizer wordTokenizer() throws IOException {
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB; i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(word(i)).append("\":").append(i);
        }
        String json = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],\"normalizer\":null,"
                + "\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,"
                + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{" + vocab + "},\"unk_token\":\"tok00\"}}";
        return TextTokenizer.fromJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), 64);
    }
}

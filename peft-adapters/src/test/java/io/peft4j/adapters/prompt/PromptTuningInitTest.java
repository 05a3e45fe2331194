package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

/**
 * Prompt tuning's initialisations on stories260K and its tokenizer, against HF PEFT's rules: TEXT is the
 * input embeddings of the text's ids (as the tokenizer call gives them, special tokens included) repeated
 * then cut to {@code num_virtual_tokens}; SAMPLE_VOCAB rows are rows of the embedding table.
 */
class PromptTuningInitTest {
    private static final int H = 64;

    private static float[] row(float[] table, long r) {
        return Arrays.copyOfRange(table, (int) r * H, (int) (r + 1) * H);
    }

    @Test
    void textInitRepeatsOrCutsTheTextsTokenEmbeddings() throws Exception {
        String text = "Pip loved blue apples";
        try (TextTokenizer tok = TextTokenizer.fromJson(Stories260K.dir().resolve("tokenizer.json"), 64);
                NDManager m = NDManager.newBaseManager()) {
            long[] ids = tok.encode(m, List.of(text)).get(0).toLongArray();
            for (int n : new int[] {2 * ids.length + 1, ids.length - 1}) {
                try (PeftModel model = Llama.causalLm(Stories260K.dir(), "stories260K")) {
                    float[] words = model.parameter("model.embed_tokens.weight").parameter().getArray().toFloatArray();
                    Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(n).promptTuningInit(PromptTuningInit.TEXT)
                            .promptTuningInitText(text).initTokenizer(tok).build());
                    float[] table = model.parameter("model.prompt_encoder.default.embedding.weight").parameter().getArray()
                            .toFloatArray();
                    for (int r = 0; r < n; r++) {
                        assertArrayEquals(row(words, ids[r % ids.length]), row(table, r), "virtual token " + r);
                    }
                }
            }
        }
    }

    @Test
    void sampleVocabRowsAreRowsOfTheEmbeddingTable() throws Exception {
        try (PeftModel model = Llama.causalLm(Stories260K.dir(), "stories260K")) {
            float[] words = model.parameter("model.embed_tokens.weight").parameter().getArray().toFloatArray();
            Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(6).promptTuningInit(PromptTuningInit.SAMPLE_VOCAB).build());
            float[] table = model.parameter("model.prompt_encoder.default.embedding.weight").parameter().getArray().toFloatArray();
            for (int r = 0; r < 6; r++) {
                float[] got = row(table, r);
                boolean found = false;
                for (int id = 0; id < words.length / H && !found; id++) {
                    found = Arrays.equals(row(words, id), got);
                }
                assertTrue(found, "virtual token " + r + " is no row of the vocabulary");
            }
        }
    }

    @Test
    void textInitWithoutATokenizerIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptTuningConfig.builder()
                .promptTuningInit(PromptTuningInit.TEXT).promptTuningInitText("hello").build());
        assertTrue(e.getMessage().contains("tokenizer_name_or_path"), e.getMessage());
    }
}

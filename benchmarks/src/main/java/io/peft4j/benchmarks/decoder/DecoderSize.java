package io.peft4j.benchmarks.decoder;

import io.peft4j.core.model.llama.LlamaConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The models the decoder benchmark measures: random Llama-family shapes of real models, and stories260K. */
public enum DecoderSize {
    /** A few million parameters: for smoke runs of the harness, not for publishing. */
    TINY("tiny", "tiny Llama (smoke test)", LlamaConfig.builder().modelType("llama").vocabSize(1024).hiddenSize(128)
            .intermediateSize(344).numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2)
            .maxPositionEmbeddings(2048).tieWordEmbeddings(false).build()),
    /** Qwen2-0.5B's shape: q/k/v biases, tied head, a 151936-token vocabulary. */
    QWEN2_0_5B("0.5b", "Qwen2-0.5B shape", LlamaConfig.builder().modelType("qwen2").vocabSize(151936).hiddenSize(896)
            .intermediateSize(4864).numHiddenLayers(24).numAttentionHeads(14).numKeyValueHeads(2).qkvBias(true).rmsNormEps(1e-6f)
            .ropeTheta(1_000_000f).maxPositionEmbeddings(32768).tieWordEmbeddings(true)
            .bosTokenId(151643).eosTokenIds(List.of(151643)).build()),
    /** TinyLlama-1.1B's shape. */
    TINYLLAMA_1_1B("1.1b", "TinyLlama-1.1B shape", LlamaConfig.builder().modelType("llama").vocabSize(32000)
            .hiddenSize(2048).intermediateSize(5632).numHiddenLayers(22).numAttentionHeads(32).numKeyValueHeads(4)
            .rmsNormEps(1e-5f).ropeTheta(10000f).maxPositionEmbeddings(2048).tieWordEmbeddings(false)
            .bosTokenId(1).eosTokenIds(List.of(2)).build()),
    /** The real stories260K checkpoint (float32) shipped in peft-examples' resources. */
    STORIES260K("stories260k", "stories260K (real, f32)", null);

    final String option;
    final String label;
    private final LlamaConfig config;

    DecoderSize(String option, String label, LlamaConfig config) {
        this.option = option;
        this.label = label;
        this.config = config;
    }

    /** The config of a random model; null for stories260K, whose directory holds its own. */
    LlamaConfig randomConfig() {
        return config;
    }

    /** Parses {@code --sizes}: names separated by commas ({@code tiny}, {@code 0.5b}, {@code 1.1b}, {@code stories260k}). */
    static List<DecoderSize> parseList(String option) {
        List<DecoderSize> out = new ArrayList<>();
        for (String s : option.split(",")) {
            String name = s.trim().toLowerCase(Locale.ROOT);
            DecoderSize found = null;
            for (DecoderSize d : values()) {
                if (d.option.equals(name)) {
                    found = d;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("--sizes: unknown size '" + s + "'; expected tiny, 0.5b, 1.1b or stories260k");
            }
            out.add(found);
        }
        return out;
    }
}

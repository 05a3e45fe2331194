package io.peft4j.core.generate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.tuner.ConfigJson;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How to generate, by transformers' {@code GenerationConfig} names and defaults: {@code max_new_tokens}
 * (20), {@code do_sample} (false: greedy), {@code temperature} (1.0), {@code top_k} (50; 0 = off),
 * {@code top_p} (1.0 = off), {@code repetition_penalty} (1.0 = off), {@code eos_token_id} (none, one or
 * several), {@code stop_strings}, {@code pad_token_id} (the first eos id when absent), and {@code seed}
 * for reproducible sampling (peft4j's own field: transformers seeds the process instead). As in
 * transformers, temperature, top-k and top-p act only when sampling. Immutable.
 */
public final class GenerationConfig {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationConfig.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> KNOWN = Set.of("max_new_tokens", "do_sample", "temperature", "top_k", "top_p",
            "repetition_penalty", "eos_token_id", "stop_strings", "pad_token_id", "seed");

    private final int maxNewTokens;
    private final boolean doSample;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final float repetitionPenalty;
    private final List<Long> eosTokenIds;
    private final List<String> stopStrings;
    private final Long padTokenId;
    private final Long seed;

    private GenerationConfig(Builder b) {
        if (b.maxNewTokens < 0) {
            throw new IllegalArgumentException("max_new_tokens must be >= 0, got " + b.maxNewTokens);
        }
        if (!(b.temperature > 0) || Float.isInfinite(b.temperature)) {
            throw new IllegalArgumentException("temperature must be a positive finite number, got " + b.temperature);
        }
        if (b.topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + b.topK);
        }
        if (!(b.topP > 0 && b.topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + b.topP);
        }
        if (!(b.repetitionPenalty > 0) || Float.isInfinite(b.repetitionPenalty)) {
            throw new IllegalArgumentException("repetition_penalty must be a positive finite number, got "
                    + b.repetitionPenalty);
        }
        for (Long id : b.eosTokenIds) {
            if (id == null || id < 0) {
                throw new IllegalArgumentException("eos_token_id entries must be token ids >= 0, got " + b.eosTokenIds);
            }
        }
        for (String s : b.stopStrings) {
            if (s == null || s.isEmpty()) {
                throw new IllegalArgumentException("stop_strings must be non-empty strings, got " + b.stopStrings);
            }
        }
        if (b.padTokenId != null && b.padTokenId < 0) {
            throw new IllegalArgumentException("pad_token_id must be a token id >= 0, got " + b.padTokenId);
        }
        this.maxNewTokens = b.maxNewTokens;
        this.doSample = b.doSample;
        this.temperature = b.temperature;
        this.topK = b.topK;
        this.topP = b.topP;
        this.repetitionPenalty = b.repetitionPenalty;
        this.eosTokenIds = List.copyOf(b.eosTokenIds);
        this.stopStrings = List.copyOf(b.stopStrings);
        this.padTokenId = b.padTokenId;
        this.seed = b.seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, nothing else set. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).build();
    }

    /**
     * A transformers {@code generation_config.json} (strict JSON). Fields peft4j does not use
     * ({@code bos_token_id}, {@code transformers_version}, ...) are ignored with a DEBUG log; a known
     * field of the wrong type is an error naming the file and the field.
     */
    public static GenerationConfig fromJson(Path file) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        return fromJson(node, file.toString());
    }

    /** @param what names the source in messages, e.g. a file path */
    public static GenerationConfig fromJson(JsonNode node, String what) {
        ConfigJson c = ConfigJson.of(node, what);
        Builder b = builder()
                .maxNewTokens(c.intField("max_new_tokens", Builder.DEFAULT_MAX_NEW_TOKENS))
                .doSample(c.boolField("do_sample", false))
                .temperature(c.floatField("temperature", 1f))
                .topK(c.intField("top_k", Builder.DEFAULT_TOP_K))
                .topP(c.floatField("top_p", 1f))
                .repetitionPenalty(c.floatField("repetition_penalty", 1f));
        List<Integer> eos = c.intOrList("eos_token_id");
        if (eos != null) {
            List<Long> ids = new ArrayList<>();
            eos.forEach(i -> ids.add((long) i));
            b.eosTokenIds(ids);
        }
        List<String> stops = c.stringOrList("stop_strings");
        if (stops != null) {
            b.stopStrings(stops);
        }
        if (c.has("pad_token_id")) {
            b.padTokenId((long) c.intField("pad_token_id", 0));
        }
        if (c.has("seed")) {
            JsonNode s = node.get("seed");
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw new IllegalArgumentException(what + ": seed must be an integer, got " + s);
            }
            b.seed(s.longValue());
        }
        if (LOG.isDebugEnabled()) {
            c.unknownFields(KNOWN).fieldNames().forEachRemaining(f -> LOG.debug("{}: ignoring '{}'", what, f));
        }
        return b.build();
    }

    public int maxNewTokens() {
        return maxNewTokens;
    }

    public boolean doSample() {
        return doSample;
    }

    public float temperature() {
        return temperature;
    }

    public int topK() {
        return topK;
    }

    public float topP() {
        return topP;
    }

    public float repetitionPenalty() {
        return repetitionPenalty;
    }

    public List<Long> eosTokenIds() {
        return eosTokenIds;
    }

    public List<String> stopStrings() {
        return stopStrings;
    }

    /** {@code pad_token_id}, or null when the config names none. */
    public Long padTokenId() {
        return padTokenId;
    }

    /** The seed of sampling, or null (a fresh random stream each run). */
    public Long seed() {
        return seed;
    }

    public Builder toBuilder() {
        Builder b = builder().maxNewTokens(maxNewTokens).doSample(doSample).temperature(temperature).topK(topK).topP(topP)
                .repetitionPenalty(repetitionPenalty).eosTokenIds(eosTokenIds).stopStrings(stopStrings);
        b.padTokenId = padTokenId;
        b.seed = seed;
        return b;
    }

    @Override
    public String toString() {
        return "GenerationConfig{max_new_tokens=" + maxNewTokens + ", do_sample=" + doSample + ", temperature="
                + temperature + ", top_k=" + topK + ", top_p=" + topP + ", repetition_penalty=" + repetitionPenalty
                + ", eos_token_id=" + eosTokenIds + ", stop_strings=" + stopStrings + ", pad_token_id=" + padTokenId
                + ", seed=" + seed + "}";
    }

    public static final class Builder {
        static final int DEFAULT_MAX_NEW_TOKENS = 20;
        static final int DEFAULT_TOP_K = 50;

        private int maxNewTokens = DEFAULT_MAX_NEW_TOKENS;
        private boolean doSample;
        private float temperature = 1f;
        private int topK = DEFAULT_TOP_K;
        private float topP = 1f;
        private float repetitionPenalty = 1f;
        private List<Long> eosTokenIds = List.of();
        private List<String> stopStrings = List.of();
        private Long padTokenId;
        private Long seed;

        private Builder() {}

        public Builder maxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        public Builder doSample(boolean doSample) {
            this.doSample = doSample;
            return this;
        }

        public Builder temperature(float temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder topP(float topP) {
            this.topP = topP;
            return this;
        }

        public Builder repetitionPenalty(float repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder eosTokenId(long eosTokenId) {
            this.eosTokenIds = List.of(eosTokenId);
            return this;
        }

        public Builder eosTokenIds(List<Long> eosTokenIds) {
            this.eosTokenIds = new ArrayList<>(eosTokenIds);
            return this;
        }

        public Builder stopStrings(List<String> stopStrings) {
            this.stopStrings = new ArrayList<>(stopStrings);
            return this;
        }

        public Builder padTokenId(long padTokenId) {
            this.padTokenId = padTokenId;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public GenerationConfig build() {
            return new GenerationConfig(this);
        }
    }
}

package io.peft4j.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.model.DynamicKeyValueCache;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.text.TextTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Text generation with a causal LM, as transformers' {@code generate}: a batch of prompts is
 * left-padded, each step runs the model and picks every running sequence's next token from its
 * last-position logits ({@link TokenChooser}: greedy or sampled, with the repetition penalty),
 * until every sequence has met an {@code eos_token_id}, a stop string or {@code max_new_tokens}.
 * With the key/value cache (the default) the prompt runs once and each later step runs only the
 * newest token; without it each step runs the whole prefix (a reference and a benchmark baseline).
 *
 * <p>Each step's arrays live in a sub-manager of the model's, closed at the end of the step; only the
 * cache's arrays live across steps, and they are freed when generation returns. The model, adapters
 * merged, unmerged or disabled, is only read.
 */
public final class Generator {
    private final PeftModel model;
    private final CausalLanguageModel lm;
    private final GenerationConfig config;
    private final boolean useCache;
    private final TokenListener listener;
    private final StopStrings stopStrings;
    private final TextTokenizer tokenizer;

    private Generator(Builder b) {
        if (!(b.model.root() instanceof CausalLanguageModel)) {
            throw new IllegalArgumentException("Generation needs a decoder whose root implements CausalLanguageModel; "
                    + "this model's root is " + b.model.root().getClass().getSimpleName());
        }
        this.model = b.model;
        this.lm = (CausalLanguageModel) b.model.root();
        this.config = b.config;
        this.useCache = b.useCache;
        this.listener = b.listener;
        this.stopStrings = new StopStrings(b.config.stopStrings(), b.tokenizer);
        this.tokenizer = b.tokenizer;
    }

    public static Builder builder(PeftModel model) {
        return new Builder(model);
    }

    public GenerationConfig config() {
        return config;
    }

    /**
     * Generates from token-id prompts (of any lengths; each must hold at least one token, e.g. BOS).
     * The result holds, per prompt, the new tokens only.
     */
    public Generation generate(long[][] prompts) {
        if (prompts == null || prompts.length == 0) {
            throw new IllegalArgumentException("generate needs at least one prompt");
        }
        Long pad = config.padTokenId() != null ? config.padTokenId()
                : config.eosTokenIds().isEmpty() ? null : config.eosTokenIds().get(0);
        if (pad == null && prompts.length > 1 && !config.stopStrings().isEmpty()) {
            throw new IllegalArgumentException("A batch stopped by stop_strings needs pad_token_id (or eos_token_id) for "
                    + "the sequences that finish first; the GenerationConfig names neither");
        }
        LeftPaddedBatch batch = new LeftPaddedBatch(prompts, config.maxNewTokens(), pad == null ? 0 : pad);
        int b = batch.size();
        TokenChooser chooser = new TokenChooser(config);
        List<List<Long>> generated = new ArrayList<>();
        Generation.StopReason[] reasons = new Generation.StopReason[b];
        Arrays.fill(reasons, Generation.StopReason.MAX_NEW_TOKENS);
        for (int i = 0; i < b; i++) {
            generated.add(new ArrayList<>());
        }
        boolean[] finished = new boolean[b];
        DynamicKeyValueCache cache = useCache ? new DynamicKeyValueCache(model.manager()) : null;
        try {
            for (int step = 0; step < config.maxNewTokens() && !allTrue(finished); step++) {
                int from = cache != null && step > 0 ? batch.length() - 1 : 0;
                float[] rows;
                long vocab;
                try (NDManager sm = model.manager().newSubManager()) {
                    NDArray last = lastLogits(sm, batch, from, cache);
                    vocab = last.getShape().getLastDimension();
                    rows = last.toFloatArray();
                }
                if (cache != null && cache.length() != batch.length()) {
                    throw new IllegalStateException("The model " + model.root().getClass().getSimpleName() + " left "
                            + cache.length() + " positions in the key/value cache after a forward over " + batch.length()
                            + "; a decoder that does not fill the cache generates with useCache(false)");
                }
                long[] next = new long[b];
                for (int i = 0; i < b; i++) {
                    next[i] = finished[i] ? pad : chooser.choose(rows, (int) (i * vocab), (int) vocab, batch.tokens(i));
                }
                batch.append(next);
                for (int i = 0; i < b; i++) {
                    if (finished[i]) {
                        continue;
                    }
                    generated.get(i).add(next[i]);
                    if (listener != null) {
                        listener.onToken(i, next[i]);
                    }
                    if (config.eosTokenIds().contains(next[i])) {
                        finished[i] = true;
                        reasons[i] = Generation.StopReason.EOS_TOKEN;
                    } else if (stopStrings.endsGeneration(generated.get(i))) {
                        finished[i] = true;
                        reasons[i] = Generation.StopReason.STOP_STRING;
                    }
                }
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        long[][] out = new long[b][];
        for (int i = 0; i < b; i++) {
            out[i] = generated.get(i).stream().mapToLong(Long::longValue).toArray();
        }
        return new Generation(out, Arrays.asList(reasons));
    }

    /** The continuation of a text prompt (encoded with the tokenizer's special tokens, e.g. Llama's BOS). */
    public String generate(String prompt) {
        return generateTexts(List.of(prompt)).get(0);
    }

    /** The continuations of text prompts, generated as one left-padded batch. */
    public List<String> generateTexts(List<String> prompts) {
        if (tokenizer == null) {
            throw new IllegalStateException("Generating from text needs a tokenizer; give one with Generator.Builder.tokenizer");
        }
        long[][] ids = new long[prompts.size()][];
        try (NDManager sm = model.manager().newSubManager()) {
            for (int i = 0; i < ids.length; i++) {
                // One prompt per encode: no padding from the tokenizer; the batch pads on the left itself.
                ids[i] = tokenizer.encode(sm, List.of(prompts.get(i))).get(0).toLongArray();
            }
        }
        Generation g = generate(ids);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            out.add(tokenizer.decode(g.tokens(i)));
        }
        return out;
    }

    /** The float32 logits {@code [B, vocab]} of the last position after running columns {@code [from, length)}. */
    private NDArray lastLogits(NDManager sm, LeftPaddedBatch batch, int from, DynamicKeyValueCache cache) {
        ForwardContext ctx = ForwardContext.builder()
                .inputIds(batch.ids(sm, from))
                .attentionMask(batch.mask(sm))
                .positionIds(batch.positions(sm, from))
                .keyValueCache(cache)
                .build();
        ParameterStore ps = new ParameterStore(model.manager(), false);
        NDArray hidden = lm.forward(ps, ctx, false).lastHiddenState();
        // The head runs on the last position only: one [B, vocab] row per sequence, never [B, T, vocab].
        NDArray logits = lm.lmHead(ps, hidden.get(new NDIndex(":, -1, :")), false);
        return logits.getDataType() == DataType.FLOAT32 ? logits : logits.toType(DataType.FLOAT32, false);
    }

    private static boolean allTrue(boolean[] flags) {
        for (boolean f : flags) {
            if (!f) {
                return false;
            }
        }
        return true;
    }

    public static final class Builder {
        private final PeftModel model;
        private GenerationConfig config = GenerationConfig.builder().build();
        private boolean useCache = true;
        private TokenListener listener;
        private TextTokenizer tokenizer;

        private Builder(PeftModel model) {
            this.model = java.util.Objects.requireNonNull(model, "model");
        }

        public Builder config(GenerationConfig config) {
            this.config = java.util.Objects.requireNonNull(config, "config");
            return this;
        }

        /** false: every step runs the whole prefix without a key/value cache (reference, benchmark baseline). */
        public Builder useCache(boolean useCache) {
            this.useCache = useCache;
            return this;
        }

        /** Streams each new token as it is chosen. */
        public Builder listener(TokenListener listener) {
            this.listener = listener;
            return this;
        }

        /** Decodes tokens for stop strings; the text methods need it to encode prompts too. */
        public Builder tokenizer(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        public Generator build() {
            return new Generator(this);
        }
    }
}

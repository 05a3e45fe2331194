package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.tuner.ConfigJson;

import java.util.Locale;
import java.util.Set;

/**
 * HF PEFT's {@code PromptTuningConfig} ({@code peft_type} {@code PROMPT_TUNING}): the common prompt
 * fields plus {@code prompt_tuning_init}, {@code prompt_tuning_init_text}, {@code tokenizer_name_or_path}
 * and {@code tokenizer_kwargs}. For {@code TEXT} the text is tokenized by the tokenizer given with
 * {@link Builder#initTokenizer} or, when none is, by the {@code tokenizer.json} at
 * {@code tokenizer_name_or_path} (a local directory or file).
 */
public final class PromptTuningConfig extends PromptLearningConfig {
    public static final String PEFT_TYPE = "PROMPT_TUNING";
    private static final Set<String> OWN = Set.of("prompt_tuning_init", "prompt_tuning_init_text",
            "tokenizer_name_or_path", "tokenizer_kwargs");

    private final PromptTuningInit promptTuningInit;
    private final String promptTuningInitText;
    private final String tokenizerNameOrPath;
    private final JsonNode tokenizerKwargs;
    private final TextTokenizer initTokenizer;

    private PromptTuningConfig(Builder b) {
        super(b);
        if (b.promptTuningInit == PromptTuningInit.TEXT) {
            if (b.promptTuningInitText == null || b.promptTuningInitText.isEmpty()) {
                throw new IllegalArgumentException("PromptTuningConfig: prompt_tuning_init TEXT needs prompt_tuning_init_text");
            }
            if (b.initTokenizer == null && b.tokenizerNameOrPath == null) {
                throw new IllegalArgumentException("PromptTuningConfig: prompt_tuning_init TEXT needs tokenizer_name_or_path "
                        + "(a local tokenizer.json or its directory) or a tokenizer given with initTokenizer");
            }
        }
        this.promptTuningInit = b.promptTuningInit;
        this.promptTuningInitText = b.promptTuningInitText;
        this.tokenizerNameOrPath = b.tokenizerNameOrPath;
        this.tokenizerKwargs = b.tokenizerKwargs;
        this.initTokenizer = b.initTokenizer;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    public PromptTuningInit promptTuningInit() {
        return promptTuningInit;
    }

    public String promptTuningInitText() {
        return promptTuningInitText;
    }

    public String tokenizerNameOrPath() {
        return tokenizerNameOrPath;
    }

    /** The tokenizer given for {@code TEXT} initialisation, or null (never saved). */
    public TextTokenizer initTokenizer() {
        return initTokenizer;
    }

    @Override
    PromptTuningConfig withSizes(int tokenDim, int numAttentionHeads, int numLayers) {
        return toBuilder().tokenDim(tokenDim).numAttentionHeads(numAttentionHeads).numLayers(numLayers)
                .numTransformerSubmodules(1).build();
    }

    @Override
    PromptTuningConfig forInference() {
        return toBuilder().inferenceMode(true).build();
    }

    public Builder toBuilder() {
        Builder b = copyCommon(new Builder());
        b.promptTuningInit = promptTuningInit;
        b.promptTuningInitText = promptTuningInitText;
        b.tokenizerNameOrPath = tokenizerNameOrPath;
        b.tokenizerKwargs = tokenizerKwargs;
        b.initTokenizer = initTokenizer;
        return b;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        json.put("prompt_tuning_init", promptTuningInit.name());
        json.put("prompt_tuning_init_text", promptTuningInitText);
        json.put("tokenizer_name_or_path", tokenizerNameOrPath);
        if (tokenizerKwargs == null) {
            json.putNull("tokenizer_kwargs");
        } else {
            json.set("tokenizer_kwargs", tokenizerKwargs.deepCopy());
        }
    }

    /** The config of an {@code adapter_config.json}; a wrong type or an unknown init is an error naming the field. */
    public static PromptTuningConfig fromJson(JsonNode json) {
        Builder b = new Builder();
        ConfigJson c = readCommon(json, PEFT_TYPE, "PromptTuningConfig", OWN, b);
        if (c.has("prompt_tuning_init")) {
            b.promptTuningInit(parseInit(c.text("prompt_tuning_init")));
        }
        b.promptTuningInitText(c.has("prompt_tuning_init_text") ? c.text("prompt_tuning_init_text") : null);
        b.tokenizerNameOrPath(c.has("tokenizer_name_or_path") ? c.text("tokenizer_name_or_path") : null);
        b.tokenizerKwargs = c.has("tokenizer_kwargs") ? c.node().get("tokenizer_kwargs").deepCopy() : null;
        return b.build();
    }

    private static PromptTuningInit parseInit(String s) {
        // Older HF PEFT versions wrote the enum's repr, e.g. "PromptTuningInit.TEXT".
        String name = s.startsWith("PromptTuningInit.") ? s.substring("PromptTuningInit.".length()) : s;
        try {
            return PromptTuningInit.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("PromptTuningConfig: prompt_tuning_init must be RANDOM, TEXT or SAMPLE_VOCAB, got '"
                    + s + "'", e);
        }
    }

    public static final class Builder extends PromptLearningConfig.Builder<PromptTuningConfig, Builder> {
        private PromptTuningInit promptTuningInit = PromptTuningInit.RANDOM;
        private String promptTuningInitText;
        private String tokenizerNameOrPath;
        private JsonNode tokenizerKwargs;
        private TextTokenizer initTokenizer;

        private Builder() {}

        /** Default {@code RANDOM}, as HF PEFT. */
        public Builder promptTuningInit(PromptTuningInit v) {
            this.promptTuningInit = java.util.Objects.requireNonNull(v, "prompt_tuning_init");
            return this;
        }

        public Builder promptTuningInitText(String v) {
            this.promptTuningInitText = v;
            return this;
        }

        public Builder tokenizerNameOrPath(String v) {
            this.tokenizerNameOrPath = v;
            return this;
        }

        /** The tokenizer that encodes {@code prompt_tuning_init_text} (with its special tokens, as HF's tokenizer call). */
        public Builder initTokenizer(TextTokenizer v) {
            this.initTokenizer = v;
            return this;
        }

        @Override
        public PromptTuningConfig build() {
            return new PromptTuningConfig(this);
        }
    }
}

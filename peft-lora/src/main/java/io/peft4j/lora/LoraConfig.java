package io.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.tuner.BaseQuantization;
import io.peft4j.core.tuner.ConfigJson;
import io.peft4j.core.tuner.TargetMatcher;
import io.peft4j.core.tuner.TunerConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * LoRA's configuration, field for field HF PEFT's {@code LoraConfig}; its JSON form is HF PEFT's
 * {@code adapter_config.json}. The fields every tuner shares (targets, layers, modules_to_save, ...)
 * are {@link TunerConfig}'s. Immutable; build with {@link #builder()} or read with {@link #fromJson}.
 *
 * <p>Known HF options that would change the adapter's meaning and that peft4j does not implement
 * (LoftQ, EVA, layer replication, a bias on lora_B, ...) are refused when set to anything but their
 * default, so an adapter is never loaded with a silently different meaning. A QLoRA adapter records
 * its base's quantization under {@code quantization_config} (see {@link BaseQuantization}).
 */
public final class LoraConfig extends TunerConfig {
    public static final String TYPE = "LORA";

    /** LoRA's fields, HF bookkeeping without meaning for the weights, and options refused unless default. */
    private static final Set<String> OWN = Set.of("r", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias",
            "use_rslora", "init_lora_weights", "rank_pattern", "alpha_pattern", "use_dora", "megatron_core",
            "runtime_config", "qalora_group_size", "ensure_weight_tying", BaseQuantization.FIELD,
            "megatron_config", "trainable_token_indices", "loftq_config", "eva_config", "corda_config", "use_qalora",
            "layer_replication", "lora_bias", "target_parameters", "arrow_config", "alora_invocation_tokens");

    private final int r;
    private final float loraAlpha;
    private final float loraDropout;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Float> alphaPattern;
    private final LoraBias bias;
    private final boolean useRslora;
    private final boolean useDora;
    private final InitLoraWeights initLoraWeights;
    private final int pissaNiter;
    private final boolean fanInFanOut;
    private final QuantizationConfig quantization;

    private LoraConfig(Builder b) {
        super(b);
        this.r = b.r;
        this.loraAlpha = b.loraAlpha;
        this.loraDropout = b.loraDropout;
        this.rankPattern = Map.copyOf(b.rankPattern);
        this.alphaPattern = Map.copyOf(b.alphaPattern);
        this.bias = b.bias;
        this.useRslora = b.useRslora;
        this.useDora = b.useDora;
        this.initLoraWeights = b.initLoraWeights;
        this.pissaNiter = b.pissaNiter;
        this.fanInFanOut = b.fanInFanOut;
        this.quantization = b.quantization;
        check(r > 0, "r must be > 0, got " + r);
        check(Float.isFinite(loraAlpha), "lora_alpha must be a finite number, got " + loraAlpha);
        check(loraDropout >= 0 && loraDropout < 1, "lora_dropout must be in [0, 1), got " + loraDropout);
        rankPattern.forEach((k, v) -> check(v > 0, "rank_pattern['" + k + "'] must be > 0, got " + v));
    }

    private static void check(boolean ok, String problem) {
        if (!ok) {
            throw new IllegalArgumentException("LoraConfig " + problem);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
        copyCommonTo(b);
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.rankPattern.putAll(rankPattern);
        b.alphaPattern.putAll(alphaPattern);
        b.bias = bias;
        b.useRslora = useRslora;
        b.useDora = useDora;
        b.initLoraWeights = initLoraWeights;
        b.pissaNiter = pissaNiter;
        b.fanInFanOut = fanInFanOut;
        b.quantization = quantization;
        return b;
    }

    public int r() {
        return r;
    }

    public float loraAlpha() {
        return loraAlpha;
    }

    public float loraDropout() {
        return loraDropout;
    }

    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    public Map<String, Float> alphaPattern() {
        return alphaPattern;
    }

    public LoraBias bias() {
        return bias;
    }

    public boolean useRslora() {
        return useRslora;
    }

    public boolean useDora() {
        return useDora;
    }

    public InitLoraWeights initLoraWeights() {
        return initLoraWeights;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** How the base is quantized (QLoRA), or null for a float base. */
    public QuantizationConfig quantization() {
        return quantization;
    }

    /** The rank of the module of that full name: the first matching {@code rank_pattern} entry, else r. */
    public int rankFor(String moduleName) {
        String key = TargetMatcher.patternKey(rankPattern.keySet(), moduleName);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of the module of that full name: the first matching {@code alpha_pattern} entry, else lora_alpha. */
    public float alphaFor(String moduleName) {
        String key = TargetMatcher.patternKey(alphaPattern.keySet(), moduleName);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA (Kalajdzievski 2023). */
    public static float scaling(float alpha, int r, boolean rslora) {
        return rslora ? (float) (alpha / Math.sqrt(r)) : alpha / r;
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    @Override
    protected void writeFields(ObjectNode n) {
        n.set("alpha_pattern", JSON.valueToTree(alphaPattern));
        n.put("bias", bias.json());
        n.put("fan_in_fan_out", fanInFanOut);
        n.set("init_lora_weights", initJson());
        n.set("lora_alpha", loraAlpha == Math.rint(loraAlpha) ? JsonNodeFactory.instance.numberNode((int) loraAlpha)
                : JsonNodeFactory.instance.numberNode(loraAlpha));
        n.put("lora_dropout", loraDropout);
        n.put("r", r);
        n.set("rank_pattern", JSON.valueToTree(rankPattern));
        n.put("use_dora", useDora);
        n.put("use_rslora", useRslora);
        if (quantization != null) {
            n.set(BaseQuantization.FIELD, BaseQuantization.toJson(quantization));
        }
    }

    private JsonNode initJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (initLoraWeights == InitLoraWeights.PISSA) {
            return f.textNode(pissaNiter > 0 ? "pissa_niter_" + pissaNiter : "pissa");
        }
        return initLoraWeights == InitLoraWeights.GAUSSIAN ? f.textNode("gaussian")
                : f.booleanNode(initLoraWeights == InitLoraWeights.DEFAULT); // RANDOM is false
    }

    /** Reads HF PEFT's {@code adapter_config.json} (as a parsed tree); a bad value names its field. */
    public static LoraConfig fromJson(JsonNode json) {
        Builder b = builder();
        ConfigJson j = readCommon(json, TYPE, "LoRA config", OWN, b);
        b.r = j.intField("r", 8);
        b.loraAlpha = j.floatField("lora_alpha", 8);
        b.loraDropout = j.floatField("lora_dropout", 0);
        b.rankPattern.putAll(j.intMap("rank_pattern"));
        b.alphaPattern.putAll(j.floatMap("alpha_pattern"));
        String bias = j.text("bias");
        b.bias = bias == null ? LoraBias.NONE : LoraBias.fromJson(bias);
        b.useRslora = j.boolField("use_rslora", false);
        b.useDora = j.boolField("use_dora", false);
        b.fanInFanOut = j.boolField("fan_in_fan_out", false);
        readInit(json.get("init_lora_weights"), b);
        refuseUnlessDefault(j);
        if (j.has(BaseQuantization.FIELD)) {
            b.quantization = BaseQuantization.fromJson(json.get(BaseQuantization.FIELD));
        }
        return b.build();
    }

    private static void readInit(JsonNode init, Builder b) {
        String text = init != null && init.isTextual() ? init.textValue() : "";
        if (init == null || init.isNull() || (init.isBoolean() && init.booleanValue())) {
            b.initLoraWeights = InitLoraWeights.DEFAULT;
        } else if (init.isBoolean()) {
            b.initLoraWeights = InitLoraWeights.RANDOM;
        } else if (text.equals("gaussian")) {
            b.initLoraWeights = InitLoraWeights.GAUSSIAN;
        } else if (text.equals("pissa")) {
            b.initLoraWeights = InitLoraWeights.PISSA;
        } else if (text.matches("pissa_niter_[0-9]+")) {
            b.initLoraWeights = InitLoraWeights.PISSA;
            b.pissaNiter = Integer.parseInt(text.substring("pissa_niter_".length()));
        } else {
            throw new IllegalArgumentException("init_lora_weights " + init + " is not supported by peft4j; supported:"
                    + " true, false, \"gaussian\", \"pissa\", \"pissa_niter_<n>\"");
        }
    }

    private static void refuseUnlessDefault(ConfigJson j) {
        JsonNode json = j.node();
        for (String f : List.of("megatron_config", "trainable_token_indices", "eva_config", "corda_config",
                "layer_replication", "arrow_config", "alora_invocation_tokens")) {
            if (j.has(f)) {
                throw unsupported(f, json.get(f));
            }
        }
        for (String f : List.of("use_qalora", "lora_bias")) {
            if (j.boolField(f, false)) {
                throw unsupported(f, json.get(f));
            }
        }
        for (String f : List.of("loftq_config", "target_parameters")) {
            if (j.has(f) && !json.get(f).isEmpty()) {
                throw unsupported(f, json.get(f));
            }
        }
    }

    private static IllegalArgumentException unsupported(String field, JsonNode value) {
        return new IllegalArgumentException("adapter_config.json sets " + field + " = " + value + ", which peft4j does not support");
    }

    /** Defaults as HF PEFT's: r = 8, lora_alpha = 8, no dropout, bias none, default init. */
    public static final class Builder extends TunerConfig.Builder<LoraConfig, Builder> {
        private int r = 8;
        private float loraAlpha = 8;
        private float loraDropout;
        private final Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private final Map<String, Float> alphaPattern = new LinkedHashMap<>();
        private LoraBias bias = LoraBias.NONE;
        private boolean useRslora;
        private boolean useDora;
        private InitLoraWeights initLoraWeights = InitLoraWeights.DEFAULT;
        private int pissaNiter;
        private boolean fanInFanOut;
        private QuantizationConfig quantization;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        public Builder r(int r) {
            this.r = r;
            return this;
        }

        public Builder loraAlpha(float alpha) {
            this.loraAlpha = alpha;
            return this;
        }

        public Builder loraDropout(float p) {
            this.loraDropout = p;
            return this;
        }

        /** A rank for modules whose name ends with (or matches) {@code pattern}. */
        public Builder rankPattern(String pattern, int rank) {
            this.rankPattern.put(pattern, rank);
            return this;
        }

        public Builder alphaPattern(String pattern, float alpha) {
            this.alphaPattern.put(pattern, alpha);
            return this;
        }

        public Builder bias(LoraBias bias) {
            this.bias = Objects.requireNonNull(bias, "bias");
            return this;
        }

        public Builder useRslora(boolean on) {
            this.useRslora = on;
            return this;
        }

        public Builder useDora(boolean on) {
            this.useDora = on;
            return this;
        }

        public Builder initLoraWeights(InitLoraWeights init) {
            this.initLoraWeights = Objects.requireNonNull(init, "initLoraWeights");
            this.pissaNiter = 0;
            return this;
        }

        public Builder fanInFanOut(boolean on) {
            this.fanInFanOut = on;
            return this;
        }

        /** QLoRA: the base's linear layers are (or will be) quantized so; null for a float base. */
        public Builder quantization(QuantizationConfig quantization) {
            this.quantization = quantization;
            return this;
        }

        @Override
        public LoraConfig build() {
            return new LoraConfig(this);
        }
    }
}

package io.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.strategy.PeftConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * LoRA's configuration, field for field HF PEFT's {@code LoraConfig}; its JSON form is HF PEFT's
 * {@code adapter_config.json}. Immutable; build with {@link #builder()} or read with {@link #fromJson}.
 *
 * <p>Fields written by newer HF PEFT versions that peft4j does not know are kept (and written back)
 * but otherwise ignored. Known HF options that would change the adapter's meaning and that peft4j
 * does not implement (LoftQ, EVA, layer replication, a bias on lora_B, ...) are refused when set to
 * anything but their default, so an adapter is never loaded with a silently different meaning.
 */
public final class LoraConfig implements PeftConfig {
    public static final String TYPE = "LORA";
    /** HF PEFT's shorthand for every linear layer but the output head. */
    public static final String ALL_LINEAR = "all-linear";

    private static final Logger LOG = LoggerFactory.getLogger(LoraConfig.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** HF fields that peft4j reads, or that carry no meaning for the weights (bookkeeping). */
    private static final Set<String> KNOWN = Set.of("peft_type", "task_type", "base_model_name_or_path", "revision",
            "inference_mode", "r", "target_modules", "exclude_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out",
            "bias", "use_rslora", "modules_to_save", "init_lora_weights", "layers_to_transform", "layers_pattern",
            "rank_pattern", "alpha_pattern", "use_dora", "auto_mapping", "megatron_core", "peft_version",
            "runtime_config", "qalora_group_size", "ensure_weight_tying",
            // refused unless default:
            "megatron_config", "trainable_token_indices", "loftq_config", "eva_config", "corda_config", "use_qalora",
            "layer_replication", "lora_bias", "target_parameters", "arrow_config", "alora_invocation_tokens");

    private final int r;
    private final float loraAlpha;
    private final float loraDropout;
    private final List<String> targetModules;
    private final String targetModulesRegex;
    private final List<String> excludeModules;
    private final String excludeModulesRegex;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Float> alphaPattern;
    private final List<String> modulesToSave;
    private final LoraBias bias;
    private final boolean useRslora;
    private final boolean useDora;
    private final InitLoraWeights initLoraWeights;
    private final int pissaNiter;
    private final boolean fanInFanOut;
    private final String taskType;
    private final String baseModelNameOrPath;
    private final boolean inferenceMode;
    private final ObjectNode unknownFields;

    private LoraConfig(Builder b) {
        this.r = b.r;
        this.loraAlpha = b.loraAlpha;
        this.loraDropout = b.loraDropout;
        this.targetModules = b.targetModules == null ? null : List.copyOf(b.targetModules);
        this.targetModulesRegex = b.targetModulesRegex;
        this.excludeModules = b.excludeModules == null ? null : List.copyOf(b.excludeModules);
        this.excludeModulesRegex = b.excludeModulesRegex;
        this.layersToTransform = b.layersToTransform == null ? null : List.copyOf(b.layersToTransform);
        this.layersPattern = b.layersPattern == null ? null : List.copyOf(b.layersPattern);
        this.rankPattern = Map.copyOf(b.rankPattern);
        this.alphaPattern = Map.copyOf(b.alphaPattern);
        this.modulesToSave = b.modulesToSave == null ? null : List.copyOf(b.modulesToSave);
        this.bias = b.bias;
        this.useRslora = b.useRslora;
        this.useDora = b.useDora;
        this.initLoraWeights = b.initLoraWeights;
        this.pissaNiter = b.pissaNiter;
        this.fanInFanOut = b.fanInFanOut;
        this.taskType = b.taskType;
        this.baseModelNameOrPath = b.baseModelNameOrPath;
        this.inferenceMode = b.inferenceMode;
        this.unknownFields = b.unknownFields.deepCopy();
        validate();
    }

    private void validate() {
        if (r <= 0) {
            throw new IllegalArgumentException("LoraConfig r must be > 0, got " + r);
        }
        if (!Float.isFinite(loraAlpha)) {
            throw new IllegalArgumentException("LoraConfig lora_alpha must be a finite number, got " + loraAlpha);
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("LoraConfig lora_dropout must be in [0, 1), got " + loraDropout);
        }
        rankPattern.forEach((k, v) -> {
            if (v <= 0) {
                throw new IllegalArgumentException("LoraConfig rank_pattern['" + k + "'] must be > 0, got " + v);
            }
        });
        checkRegex("target_modules", targetModulesRegex);
        checkRegex("exclude_modules", excludeModulesRegex);
        if (targetModulesRegex != null && (layersToTransform != null || layersPattern != null)) {
            throw new IllegalArgumentException("LoraConfig layers_to_transform and layers_pattern cannot be used when"
                    + " target_modules is a regex (as in HF PEFT); put the layer indices into the regex instead");
        }
        if (layersPattern != null && layersToTransform == null) {
            throw new IllegalArgumentException("LoraConfig layers_pattern needs layers_to_transform");
        }
        if (layersToTransform != null) {
            for (int i : layersToTransform) {
                if (i < 0) {
                    throw new IllegalArgumentException("LoraConfig layers_to_transform holds " + i + ", expected indices >= 0");
                }
            }
        }
    }

    private static void checkRegex(String field, String regex) {
        if (regex == null || regex.equals(ALL_LINEAR)) {
            return;
        }
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("LoraConfig " + field + " is not a valid regex: " + e.getMessage(), e);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.targetModules = targetModules == null ? null : new ArrayList<>(targetModules);
        b.targetModulesRegex = targetModulesRegex;
        b.excludeModules = excludeModules == null ? null : new ArrayList<>(excludeModules);
        b.excludeModulesRegex = excludeModulesRegex;
        b.layersToTransform = layersToTransform == null ? null : new ArrayList<>(layersToTransform);
        b.layersPattern = layersPattern == null ? null : new ArrayList<>(layersPattern);
        b.rankPattern.putAll(rankPattern);
        b.alphaPattern.putAll(alphaPattern);
        b.modulesToSave = modulesToSave == null ? null : new ArrayList<>(modulesToSave);
        b.bias = bias;
        b.useRslora = useRslora;
        b.useDora = useDora;
        b.initLoraWeights = initLoraWeights;
        b.pissaNiter = pissaNiter;
        b.fanInFanOut = fanInFanOut;
        b.taskType = taskType;
        b.baseModelNameOrPath = baseModelNameOrPath;
        b.inferenceMode = inferenceMode;
        b.unknownFields = unknownFields.deepCopy();
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

    /** Target module names or suffixes, or null when targets are a regex (or left to the model type's default). */
    public List<String> targetModules() {
        return targetModules;
    }

    /** A regex every target's full name must match, or {@link #ALL_LINEAR}; null when targets are a list. */
    public String targetModulesRegex() {
        return targetModulesRegex;
    }

    public List<String> excludeModules() {
        return excludeModules;
    }

    public String excludeModulesRegex() {
        return excludeModulesRegex;
    }

    public List<Integer> layersToTransform() {
        return layersToTransform;
    }

    public List<String> layersPattern() {
        return layersPattern;
    }

    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    public Map<String, Float> alphaPattern() {
        return alphaPattern;
    }

    /** Modules trained in full and saved with the adapter, e.g. {@code classifier}; null for none. */
    public List<String> modulesToSave() {
        return modulesToSave;
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

    public String taskType() {
        return taskType;
    }

    public String baseModelNameOrPath() {
        return baseModelNameOrPath;
    }

    public boolean inferenceMode() {
        return inferenceMode;
    }

    /** Fields this version does not know, kept as read. */
    public ObjectNode unknownFields() {
        return unknownFields.deepCopy();
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
    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.set("alpha_pattern", JSON.valueToTree(alphaPattern));
        n.putNull("auto_mapping");
        putNullable(n, "base_model_name_or_path", baseModelNameOrPath);
        n.put("bias", bias.json());
        n.put("fan_in_fan_out", fanInFanOut);
        n.put("inference_mode", inferenceMode);
        switch (initLoraWeights) {
            case DEFAULT:
                n.put("init_lora_weights", true);
                break;
            case RANDOM:
                n.put("init_lora_weights", false);
                break;
            case GAUSSIAN:
                n.put("init_lora_weights", "gaussian");
                break;
            case PISSA:
                n.put("init_lora_weights", pissaNiter > 0 ? "pissa_niter_" + pissaNiter : "pissa");
                break;
            default:
                throw new IllegalStateException(initLoraWeights.name());
        }
        putList(n, "exclude_modules", excludeModules, excludeModulesRegex);
        putList(n, "layers_pattern", layersPattern, null);
        if (layersToTransform == null) {
            n.putNull("layers_to_transform");
        } else {
            ArrayNode a = n.putArray("layers_to_transform");
            layersToTransform.forEach(a::add);
        }
        n.put("lora_alpha", loraAlpha == Math.rint(loraAlpha) ? JsonNodeFactory.instance.numberNode((int) loraAlpha)
                : JsonNodeFactory.instance.numberNode(loraAlpha));
        n.put("lora_dropout", loraDropout);
        putList(n, "modules_to_save", modulesToSave, null);
        n.put("peft_type", TYPE);
        n.put("r", r);
        n.set("rank_pattern", JSON.valueToTree(rankPattern));
        n.putNull("revision");
        putList(n, "target_modules", targetModules, targetModulesRegex);
        putNullable(n, "task_type", taskType);
        n.put("use_dora", useDora);
        n.put("use_rslora", useRslora);
        Iterator<Map.Entry<String, JsonNode>> it = unknownFields.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            n.set(e.getKey(), e.getValue().deepCopy());
        }
        return n;
    }

    private static void putNullable(ObjectNode n, String key, String value) {
        if (value == null) {
            n.putNull(key);
        } else {
            n.put(key, value);
        }
    }

    private static void putList(ObjectNode n, String key, List<String> list, String regex) {
        if (regex != null) {
            n.put(key, regex);
        } else if (list == null) {
            n.putNull(key);
        } else {
            ArrayNode a = n.putArray(key);
            list.forEach(a::add);
        }
    }

    /** Reads HF PEFT's {@code adapter_config.json} (as a parsed tree); bad values name the field. */
    public static LoraConfig fromJson(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("LoRA config must be a JSON object");
        }
        String type = json.path("peft_type").asText(TYPE);
        if (!TYPE.equals(type)) {
            throw new IllegalArgumentException("Not a LoRA config: peft_type is '" + type + "'");
        }
        Builder b = builder();
        b.r = intField(json, "r", 8);
        b.loraAlpha = floatField(json, "lora_alpha", 8);
        b.loraDropout = floatField(json, "lora_dropout", 0);
        JsonNode t = json.get("target_modules");
        if (t != null && t.isTextual()) {
            b.targetModulesRegex = t.asText();
        } else {
            b.targetModules = stringList(json, "target_modules");
        }
        JsonNode ex = json.get("exclude_modules");
        if (ex != null && ex.isTextual()) {
            b.excludeModulesRegex = ex.asText();
        } else {
            b.excludeModules = stringList(json, "exclude_modules");
        }
        JsonNode layers = json.get("layers_to_transform");
        if (layers != null && !layers.isNull()) {
            b.layersToTransform = new ArrayList<>();
            if (layers.isInt()) {
                b.layersToTransform.add(layers.asInt());
            } else if (layers.isArray()) {
                for (JsonNode v : layers) {
                    if (!v.isInt()) {
                        throw new IllegalArgumentException("layers_to_transform must hold integers, found " + v);
                    }
                    b.layersToTransform.add(v.asInt());
                }
            } else {
                throw new IllegalArgumentException("layers_to_transform must be an integer or a list of integers, got " + layers);
            }
        }
        JsonNode lp = json.get("layers_pattern");
        if (lp != null && lp.isTextual()) {
            b.layersPattern = List.of(lp.asText());
        } else {
            b.layersPattern = stringList(json, "layers_pattern");
        }
        JsonNode rp = json.path("rank_pattern");
        if (rp.isObject()) {
            rp.fields().forEachRemaining(e -> {
                if (!e.getValue().isInt()) {
                    throw new IllegalArgumentException("rank_pattern['" + e.getKey() + "'] must be an integer, got " + e.getValue());
                }
                b.rankPattern.put(e.getKey(), e.getValue().asInt());
            });
        }
        JsonNode ap = json.path("alpha_pattern");
        if (ap.isObject()) {
            ap.fields().forEachRemaining(e -> {
                if (!e.getValue().isNumber()) {
                    throw new IllegalArgumentException("alpha_pattern['" + e.getKey() + "'] must be a number, got " + e.getValue());
                }
                b.alphaPattern.put(e.getKey(), e.getValue().floatValue());
            });
        }
        b.modulesToSave = stringList(json, "modules_to_save");
        JsonNode bias = json.get("bias");
        b.bias = bias == null || bias.isNull() ? LoraBias.NONE : LoraBias.fromJson(bias.asText());
        b.useRslora = boolField(json, "use_rslora");
        b.useDora = boolField(json, "use_dora");
        b.fanInFanOut = boolField(json, "fan_in_fan_out");
        b.inferenceMode = boolField(json, "inference_mode");
        b.taskType = textOrNull(json, "task_type");
        b.baseModelNameOrPath = textOrNull(json, "base_model_name_or_path");
        readInit(json.get("init_lora_weights"), b);
        refuseUnlessDefault(json);
        json.fields().forEachRemaining(e -> {
            if (!KNOWN.contains(e.getKey())) {
                LOG.debug("adapter_config.json: keeping unknown field '{}' (ignored by peft4j)", e.getKey());
                b.unknownFields.set(e.getKey(), e.getValue().deepCopy());
            }
        });
        return b.build();
    }

    private static void readInit(JsonNode init, Builder b) {
        if (init == null || init.isNull() || (init.isBoolean() && init.asBoolean())) {
            b.initLoraWeights = InitLoraWeights.DEFAULT;
        } else if (init.isBoolean()) {
            b.initLoraWeights = InitLoraWeights.RANDOM;
        } else if (init.isTextual() && init.asText().equals("gaussian")) {
            b.initLoraWeights = InitLoraWeights.GAUSSIAN;
        } else if (init.isTextual() && init.asText().equals("pissa")) {
            b.initLoraWeights = InitLoraWeights.PISSA;
        } else if (init.isTextual() && init.asText().matches("pissa_niter_[0-9]+")) {
            b.initLoraWeights = InitLoraWeights.PISSA;
            b.pissaNiter = Integer.parseInt(init.asText().substring("pissa_niter_".length()));
        } else {
            throw new IllegalArgumentException("init_lora_weights " + init + " is not supported by peft4j; supported:"
                    + " true, false, \"gaussian\", \"pissa\", \"pissa_niter_<n>\"");
        }
    }

    private static void refuseUnlessDefault(JsonNode json) {
        for (String f : List.of("megatron_config", "trainable_token_indices", "eva_config", "corda_config",
                "layer_replication", "arrow_config", "alora_invocation_tokens")) {
            JsonNode v = json.get(f);
            if (v != null && !v.isNull()) {
                throw new IllegalArgumentException("adapter_config.json sets " + f + " = " + v + ", which peft4j does not support");
            }
        }
        for (String f : List.of("use_qalora", "lora_bias")) {
            if (json.path(f).asBoolean(false)) {
                throw new IllegalArgumentException("adapter_config.json sets " + f + " = true, which peft4j does not support");
            }
        }
        for (String f : List.of("loftq_config", "target_parameters")) {
            JsonNode v = json.get(f);
            if (v != null && !v.isNull() && !v.isEmpty()) {
                throw new IllegalArgumentException("adapter_config.json sets " + f + " = " + v + ", which peft4j does not support");
            }
        }
    }

    private static int intField(JsonNode json, String key, int dflt) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static float floatField(JsonNode json, String key, float dflt) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(key + " must be a number, got " + v);
        }
        return v.floatValue();
    }

    private static boolean boolField(JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(key + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    private static String textOrNull(JsonNode json, String key) {
        JsonNode v = json.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static List<String> stringList(JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException(key + " must be a list of strings, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw new IllegalArgumentException(key + " must hold strings, found " + e);
            }
            if (!out.contains(e.asText())) {
                out.add(e.asText());
            }
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoraConfig && toJson().equals(((LoraConfig) o).toJson());
    }

    @Override
    public int hashCode() {
        return Objects.hash(toJson());
    }

    @Override
    public String toString() {
        return "LoraConfig" + toJson();
    }

    /** Defaults as HF PEFT's: r = 8, lora_alpha = 8, no dropout, bias none, default init. */
    public static final class Builder {
        private int r = 8;
        private float loraAlpha = 8;
        private float loraDropout;
        private List<String> targetModules;
        private String targetModulesRegex;
        private List<String> excludeModules;
        private String excludeModulesRegex;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private final Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private final Map<String, Float> alphaPattern = new LinkedHashMap<>();
        private List<String> modulesToSave;
        private LoraBias bias = LoraBias.NONE;
        private boolean useRslora;
        private boolean useDora;
        private InitLoraWeights initLoraWeights = InitLoraWeights.DEFAULT;
        private int pissaNiter;
        private boolean fanInFanOut;
        private String taskType;
        private String baseModelNameOrPath;
        private boolean inferenceMode;
        private ObjectNode unknownFields = JSON.createObjectNode();

        private Builder() {}

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

        /** Modules by exact name or by suffix after a dot, e.g. {@code "query", "value"}. */
        public Builder targetModules(String... names) {
            this.targetModules = List.of(names);
            this.targetModulesRegex = null;
            return this;
        }

        /** Modules whose full name matches the regex entirely, or {@link LoraConfig#ALL_LINEAR}. */
        public Builder targetModulesRegex(String regex) {
            this.targetModulesRegex = regex;
            this.targetModules = null;
            return this;
        }

        public Builder allLinear() {
            return targetModulesRegex(ALL_LINEAR);
        }

        public Builder excludeModules(String... names) {
            this.excludeModules = List.of(names);
            this.excludeModulesRegex = null;
            return this;
        }

        public Builder excludeModulesRegex(String regex) {
            this.excludeModulesRegex = regex;
            this.excludeModules = null;
            return this;
        }

        public Builder layersToTransform(Integer... indices) {
            this.layersToTransform = List.of(indices);
            return this;
        }

        /** The name of the layer list in module paths, e.g. {@code layer} in {@code encoder.layer.3}. */
        public Builder layersPattern(String... patterns) {
            this.layersPattern = List.of(patterns);
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

        public Builder modulesToSave(String... names) {
            this.modulesToSave = List.of(names);
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

        /** e.g. {@code SEQ_CLS}, {@code CAUSAL_LM}; recorded for HF PEFT, which picks its model class by it. */
        public Builder taskType(String taskType) {
            this.taskType = taskType;
            return this;
        }

        public Builder baseModelNameOrPath(String name) {
            this.baseModelNameOrPath = name;
            return this;
        }

        /** When true, a loaded adapter is frozen (HF PEFT writes true into every saved config). */
        public Builder inferenceMode(boolean on) {
            this.inferenceMode = on;
            return this;
        }

        public LoraConfig build() {
            return new LoraConfig(this);
        }
    }
}

package io.peft4j.core.tuner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.strategy.PeftConfig;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The fields every HF PEFT tuner config shares ({@code PeftConfig} + {@code target_modules} and
 * friends), read strictly and written back under HF's names. Fields a newer HF PEFT writes that
 * peft4j does not know are kept and written back as read. Subclasses add their method's fields.
 */
public abstract class TunerConfig implements PeftConfig {
    /** HF PEFT's shorthand for every linear layer but the output head. */
    public static final String ALL_LINEAR = "all-linear";
    /** The shared fields, plus HF bookkeeping that carries no meaning for the weights. */
    public static final Set<String> COMMON_FIELDS = Set.of("peft_type", "task_type", "base_model_name_or_path",
            "revision", "inference_mode", "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern",
            "modules_to_save", "auto_mapping", "peft_version");
    protected static final ObjectMapper JSON = new ObjectMapper();

    private final String taskType;
    private final String baseModelNameOrPath;
    private final String revision;
    private final boolean inferenceMode;
    private final List<String> targetModules;
    private final String targetModulesRegex;
    private final List<String> excludeModules;
    private final String excludeModulesRegex;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
    private final List<String> modulesToSave;
    private final ObjectNode unknownFields;

    protected TunerConfig(Builder<?, ?> b) {
        String name = getClass().getSimpleName();
        this.taskType = b.taskType;
        this.baseModelNameOrPath = b.baseModelNameOrPath;
        this.revision = b.revision;
        this.inferenceMode = b.inferenceMode;
        this.targetModules = b.targetModules == null ? null : List.copyOf(b.targetModules);
        this.targetModulesRegex = b.targetModulesRegex;
        this.excludeModules = b.excludeModules == null ? null : List.copyOf(b.excludeModules);
        this.excludeModulesRegex = b.excludeModulesRegex;
        this.layersToTransform = b.layersToTransform == null ? null : List.copyOf(b.layersToTransform);
        this.layersPattern = b.layersPattern == null ? null : List.copyOf(b.layersPattern);
        this.modulesToSave = b.modulesToSave == null ? null : List.copyOf(b.modulesToSave);
        this.unknownFields = b.unknownFields.deepCopy();
        if (targetModules != null && targetModules.isEmpty()) {
            throw new IllegalArgumentException(name + " target_modules is an empty list: name the modules (e.g. \"query\","
                    + " \"value\"), give a regex or \"all-linear\", or leave it out for the model's defaults");
        }
        checkRegex(name, "target_modules", targetModulesRegex);
        checkRegex(name, "exclude_modules", excludeModulesRegex);
        if (targetModulesRegex != null && (layersToTransform != null || layersPattern != null)) {
            throw new IllegalArgumentException(name + " layers_to_transform and layers_pattern cannot be used when"
                    + " target_modules is a regex (as in HF PEFT); put the layer indices into the regex instead");
        }
        if (layersPattern != null && layersToTransform == null) {
            throw new IllegalArgumentException(name + " layers_pattern needs layers_to_transform");
        }
        if (layersToTransform != null) {
            for (int i : layersToTransform) {
                if (i < 0) {
                    throw new IllegalArgumentException(name + " layers_to_transform holds " + i + ", expected indices >= 0");
                }
            }
        }
    }

    private static void checkRegex(String name, String field, String regex) {
        if (regex == null || regex.equals(ALL_LINEAR)) {
            return;
        }
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(name + " " + field + " is not a valid regex: " + e.getMessage(), e);
        }
    }

    /** e.g. {@code SEQ_CLS}, {@code CAUSAL_LM}; HF PEFT picks its model class by it. */
    public String taskType() {
        return taskType;
    }

    public String baseModelNameOrPath() {
        return baseModelNameOrPath;
    }

    public String revision() {
        return revision;
    }

    /** When true, a loaded adapter is frozen (HF PEFT writes true into every saved config). */
    public boolean inferenceMode() {
        return inferenceMode;
    }

    /** Target module names or suffixes, or null when targets are a regex (or left to the model's default). */
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

    /** Modules trained in full and saved with the adapter, e.g. {@code classifier}; null for none. */
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    /** Fields this version does not know, kept as read. */
    public ObjectNode unknownFields() {
        return unknownFields.deepCopy();
    }

    /** The method's own fields, written beside the shared ones. */
    protected abstract void writeFields(ObjectNode json);

    /**
     * HF PEFT's {@code adapter_config.json}: known fields in alphabetical order (as Python's
     * {@code json.dump(sort_keys=True)} writes them), then the unknown ones as read.
     */
    @Override
    public final ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.putNull("auto_mapping");
        putText(n, "base_model_name_or_path", baseModelNameOrPath);
        n.put("inference_mode", inferenceMode);
        putList(n, "exclude_modules", excludeModules, excludeModulesRegex);
        putList(n, "layers_pattern", layersPattern, null);
        if (layersToTransform == null) {
            n.putNull("layers_to_transform");
        } else {
            ArrayNode a = n.putArray("layers_to_transform");
            layersToTransform.forEach(a::add);
        }
        putList(n, "modules_to_save", modulesToSave, null);
        n.put("peft_type", peftType());
        putText(n, "revision", revision);
        putList(n, "target_modules", targetModules, targetModulesRegex);
        putText(n, "task_type", taskType);
        writeFields(n);
        TreeMap<String, JsonNode> sorted = new TreeMap<>();
        n.fields().forEachRemaining(e -> sorted.put(e.getKey(), e.getValue()));
        ObjectNode out = JSON.createObjectNode();
        sorted.forEach(out::set);
        Iterator<Map.Entry<String, JsonNode>> it = unknownFields.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            out.set(e.getKey(), e.getValue().deepCopy());
        }
        return out;
    }

    protected static void putText(ObjectNode n, String key, String value) {
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

    /**
     * Reads the shared fields into {@code b} and keeps every field outside {@code COMMON_FIELDS} and
     * {@code ownFields} as unknown. Checks {@code peft_type} when present.
     */
    protected static ConfigJson readCommon(JsonNode json, String peftType, String what, Set<String> ownFields,
            Builder<?, ?> b) {
        ConfigJson j = ConfigJson.of(json, what);
        String type = j.text("peft_type");
        if (type != null && !type.equals(peftType)) {
            throw new IllegalArgumentException("Not a " + what + ": peft_type is '" + type + "', expected '" + peftType + "'");
        }
        if (j.isText("target_modules")) {
            b.targetModulesRegex(j.text("target_modules"));
        } else {
            b.targetModules = j.stringList("target_modules");
        }
        if (j.isText("exclude_modules")) {
            b.excludeModulesRegex(j.text("exclude_modules"));
        } else {
            b.excludeModules = j.stringList("exclude_modules");
        }
        b.layersToTransform = j.intOrList("layers_to_transform");
        b.layersPattern = j.stringOrList("layers_pattern");
        b.modulesToSave = j.stringList("modules_to_save");
        b.inferenceMode = j.boolField("inference_mode", false);
        b.taskType = j.text("task_type");
        b.baseModelNameOrPath = j.text("base_model_name_or_path");
        b.revision = j.text("revision");
        Set<String> known = new HashSet<>(COMMON_FIELDS);
        known.addAll(ownFields);
        b.unknownFields = j.unknownFields(known);
        return j;
    }

    /** Copies the shared fields into a builder (for a subclass's {@code toBuilder}). */
    protected final void copyCommonTo(Builder<?, ?> b) {
        b.taskType = taskType;
        b.baseModelNameOrPath = baseModelNameOrPath;
        b.revision = revision;
        b.inferenceMode = inferenceMode;
        b.targetModules = targetModules == null ? null : new ArrayList<>(targetModules);
        b.targetModulesRegex = targetModulesRegex;
        b.excludeModules = excludeModules == null ? null : new ArrayList<>(excludeModules);
        b.excludeModulesRegex = excludeModulesRegex;
        b.layersToTransform = layersToTransform == null ? null : new ArrayList<>(layersToTransform);
        b.layersPattern = layersPattern == null ? null : new ArrayList<>(layersPattern);
        b.modulesToSave = modulesToSave == null ? null : new ArrayList<>(modulesToSave);
        b.unknownFields = unknownFields.deepCopy();
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && toJson().equals(((TunerConfig) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + toJson();
    }

    /** Setters for the shared fields; {@code B} is the subclass's builder so that chains keep its type. */
    public abstract static class Builder<C extends TunerConfig, B extends Builder<C, B>> {
        private String taskType;
        private String baseModelNameOrPath;
        private String revision;
        private boolean inferenceMode;
        private List<String> targetModules;
        private String targetModulesRegex;
        private List<String> excludeModules;
        private String excludeModulesRegex;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private List<String> modulesToSave;
        private ObjectNode unknownFields = JSON.createObjectNode();

        protected abstract B self();

        public abstract C build();

        /** Modules by exact name or by suffix after a dot, e.g. {@code "query", "value"}. */
        public B targetModules(String... names) {
            this.targetModules = List.of(names);
            this.targetModulesRegex = null;
            return self();
        }

        /** Modules whose full name matches the regex entirely, or {@link TunerConfig#ALL_LINEAR}. */
        public B targetModulesRegex(String regex) {
            this.targetModulesRegex = regex;
            this.targetModules = null;
            return self();
        }

        public B allLinear() {
            return targetModulesRegex(ALL_LINEAR);
        }

        public B excludeModules(String... names) {
            this.excludeModules = List.of(names);
            this.excludeModulesRegex = null;
            return self();
        }

        public B excludeModulesRegex(String regex) {
            this.excludeModulesRegex = regex;
            this.excludeModules = null;
            return self();
        }

        public B layersToTransform(Integer... indices) {
            this.layersToTransform = List.of(indices);
            return self();
        }

        /** The name of the layer list in module paths, e.g. {@code layer} in {@code encoder.layer.3}. */
        public B layersPattern(String... patterns) {
            this.layersPattern = List.of(patterns);
            return self();
        }

        public B modulesToSave(String... names) {
            this.modulesToSave = List.of(names);
            return self();
        }

        /** e.g. {@code SEQ_CLS}, {@code CAUSAL_LM}; recorded for HF PEFT, which picks its model class by it. */
        public B taskType(String taskType) {
            this.taskType = taskType;
            return self();
        }

        public B baseModelNameOrPath(String name) {
            this.baseModelNameOrPath = name;
            return self();
        }

        public B revision(String revision) {
            this.revision = revision;
            return self();
        }

        /** When true, a loaded adapter is frozen (HF PEFT writes true into every saved config). */
        public B inferenceMode(boolean on) {
            this.inferenceMode = on;
            return self();
        }
    }
}

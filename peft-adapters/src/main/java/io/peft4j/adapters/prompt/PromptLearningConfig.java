package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The fields HF PEFT's {@code PromptLearningConfig} shares between prompt tuning, P-tuning and prefix
 * tuning: {@code num_virtual_tokens}, {@code token_dim}, {@code num_transformer_submodules},
 * {@code num_attention_heads}, {@code num_layers}, and {@code PeftConfig}'s {@code task_type},
 * {@code base_model_name_or_path}, {@code revision}, {@code inference_mode}. A size left null is taken
 * from the model when the adapter is applied (HF's {@code _prepare_prompt_learning_config}); the
 * adapter then keeps a config with every size filled in. Unknown fields are kept and written back.
 */
public abstract class PromptLearningConfig implements PeftConfig {
    static final Set<String> COMMON_FIELDS = Set.of("peft_type", "task_type", "base_model_name_or_path", "revision",
            "inference_mode", "num_virtual_tokens", "token_dim", "num_transformer_submodules", "num_attention_heads",
            "num_layers", "auto_mapping");

    private final int numVirtualTokens;
    private final Integer tokenDim;
    private final Integer numTransformerSubmodules;
    private final Integer numAttentionHeads;
    private final Integer numLayers;
    private final String taskType;
    private final String baseModelNameOrPath;
    private final String revision;
    private final boolean inferenceMode;
    private final ObjectNode unknown;

    protected PromptLearningConfig(Builder<?, ?> b) {
        if (b.numVirtualTokens < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": num_virtual_tokens must be at least 1, got "
                    + b.numVirtualTokens);
        }
        positive("token_dim", b.tokenDim);
        positive("num_attention_heads", b.numAttentionHeads);
        positive("num_layers", b.numLayers);
        if (b.numTransformerSubmodules != null && b.numTransformerSubmodules != 1) {
            // Two submodules are encoder-decoder models (T5, BART): no such family exists in peft4j.
            throw new IllegalArgumentException(getClass().getSimpleName() + ": num_transformer_submodules must be 1 "
                    + "(encoder-only and decoder-only models), got " + b.numTransformerSubmodules);
        }
        this.numVirtualTokens = b.numVirtualTokens;
        this.tokenDim = b.tokenDim;
        this.numTransformerSubmodules = b.numTransformerSubmodules;
        this.numAttentionHeads = b.numAttentionHeads;
        this.numLayers = b.numLayers;
        this.taskType = b.taskType;
        this.baseModelNameOrPath = b.baseModelNameOrPath;
        this.revision = b.revision;
        this.inferenceMode = b.inferenceMode;
        this.unknown = b.unknown == null ? JsonNodeFactory.instance.objectNode() : b.unknown.deepCopy();
    }

    private void positive(String field, Integer v) {
        if (v != null && v < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + field + " must be at least 1, got " + v);
        }
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    /** The hidden width, or null until applied to a model. */
    public Integer tokenDim() {
        return tokenDim;
    }

    public Integer numTransformerSubmodules() {
        return numTransformerSubmodules;
    }

    public Integer numAttentionHeads() {
        return numAttentionHeads;
    }

    public Integer numLayers() {
        return numLayers;
    }

    public String taskType() {
        return taskType;
    }

    public String baseModelNameOrPath() {
        return baseModelNameOrPath;
    }

    public String revision() {
        return revision;
    }

    public boolean inferenceMode() {
        return inferenceMode;
    }

    /** A copy of this config with the sizes given (those already set must agree: checked by the caller). */
    abstract PromptLearningConfig withSizes(int tokenDim, int numAttentionHeads, int numLayers);

    /** A copy of this config for inference: {@code inference_mode} true, a P-tuning or prefix encoder dropped. */
    abstract PromptLearningConfig forInference();

    /** Fills a builder of the same kind with the common fields of this config. */
    protected final <B extends Builder<?, B>> B copyCommon(B b) {
        b.numVirtualTokens(numVirtualTokens).tokenDim(tokenDim).numTransformerSubmodules(numTransformerSubmodules)
                .numAttentionHeads(numAttentionHeads).numLayers(numLayers).taskType(taskType)
                .baseModelNameOrPath(baseModelNameOrPath).revision(revision).inferenceMode(inferenceMode);
        ((Builder<?, ?>) b).unknown = unknown.deepCopy();
        return b;
    }

    /** The method's own fields, added to the JSON. */
    protected abstract void writeFields(ObjectNode json);

    @Override
    public final ObjectNode toJson() {
        ObjectNode all = JsonNodeFactory.instance.objectNode();
        all.setAll(unknown);
        all.putNull("auto_mapping");
        all.put("base_model_name_or_path", baseModelNameOrPath);
        all.put("inference_mode", inferenceMode);
        putOrNull(all, "num_attention_heads", numAttentionHeads);
        putOrNull(all, "num_layers", numLayers);
        putOrNull(all, "num_transformer_submodules", numTransformerSubmodules);
        all.put("num_virtual_tokens", numVirtualTokens);
        all.put("peft_type", peftType());
        all.put("revision", revision);
        all.put("task_type", taskType);
        putOrNull(all, "token_dim", tokenDim);
        writeFields(all);
        // HF PEFT writes its configs with sorted keys.
        List<String> keys = new ArrayList<>();
        all.fieldNames().forEachRemaining(keys::add);
        Collections.sort(keys);
        ObjectNode sorted = JsonNodeFactory.instance.objectNode();
        for (String k : keys) {
            sorted.set(k, all.get(k));
        }
        return sorted;
    }

    static void putOrNull(ObjectNode json, String field, Integer v) {
        if (v == null) {
            json.putNull(field);
        } else {
            json.put(field, v);
        }
    }

    /** Reads the common fields into a builder; {@code own} are the method's fields (not kept as unknown). */
    protected static <B extends Builder<?, B>> ConfigJson readCommon(JsonNode json, String peftType, String what,
            Set<String> own, B b) {
        ConfigJson c = ConfigJson.of(json, what);
        if (c.has("peft_type") && !peftType.equals(c.text("peft_type"))) {
            throw new IllegalArgumentException(what + ": peft_type must be " + peftType + ", got " + c.text("peft_type"));
        }
        if (!c.has("num_virtual_tokens")) {
            throw new IllegalArgumentException(what + ": num_virtual_tokens is required");
        }
        b.numVirtualTokens(c.intField("num_virtual_tokens", 0))
                .tokenDim(optInt(c, "token_dim"))
                .numTransformerSubmodules(optInt(c, "num_transformer_submodules"))
                .numAttentionHeads(optInt(c, "num_attention_heads"))
                .numLayers(optInt(c, "num_layers"))
                .taskType(c.has("task_type") ? c.text("task_type") : null)
                .baseModelNameOrPath(c.has("base_model_name_or_path") ? c.text("base_model_name_or_path") : null)
                .revision(c.has("revision") ? c.text("revision") : null)
                .inferenceMode(c.boolField("inference_mode", false));
        Set<String> known = new HashSet<>(COMMON_FIELDS);
        known.addAll(own);
        ((Builder<?, ?>) b).unknown = c.unknownFields(known);
        return c;
    }

    static Integer optInt(ConfigJson c, String field) {
        return c.has(field) ? c.intField(field, 0) : null;
    }

    /** The builder of the shared fields; {@code B} is the concrete builder. */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<C extends PromptLearningConfig, B extends Builder<C, B>> {
        private int numVirtualTokens = 20;
        private Integer tokenDim;
        private Integer numTransformerSubmodules;
        private Integer numAttentionHeads;
        private Integer numLayers;
        private String taskType;
        private String baseModelNameOrPath;
        private String revision;
        private boolean inferenceMode;
        private ObjectNode unknown;

        /** Default 20 (the HF PEFT examples' value; HF's dataclass has no default). */
        public B numVirtualTokens(int n) {
            this.numVirtualTokens = n;
            return (B) this;
        }

        public B tokenDim(Integer v) {
            this.tokenDim = v;
            return (B) this;
        }

        public B numTransformerSubmodules(Integer v) {
            this.numTransformerSubmodules = v;
            return (B) this;
        }

        public B numAttentionHeads(Integer v) {
            this.numAttentionHeads = v;
            return (B) this;
        }

        public B numLayers(Integer v) {
            this.numLayers = v;
            return (B) this;
        }

        /** e.g. {@code CAUSAL_LM}, {@code SEQ_CLS}, {@code FEATURE_EXTRACTION}. */
        public B taskType(String v) {
            this.taskType = v;
            return (B) this;
        }

        public B baseModelNameOrPath(String v) {
            this.baseModelNameOrPath = v;
            return (B) this;
        }

        public B revision(String v) {
            this.revision = v;
            return (B) this;
        }

        public B inferenceMode(boolean v) {
            this.inferenceMode = v;
            return (B) this;
        }

        public abstract C build();
    }
}

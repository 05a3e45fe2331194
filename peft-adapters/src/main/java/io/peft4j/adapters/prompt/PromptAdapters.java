package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleDict;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The prompt-learning adapters of one base model: their encoders (child {@code prompt_encoder} of the
 * host, one per adapter name), configs, the active one and the disabled switch; and the two ways a
 * forward uses the active adapter.
 *
 * <p>Decoders: the real tokens attend to {@code n} extra keys and values per layer through a
 * {@link PrefixCache}, with the attention mask and explicit position ids widened by {@code n}, so real
 * tokens sit at positions {@code n, n + 1, ...} as after transformers' {@code past_key_values}. For
 * prefix tuning those keys and values are the adapter's vectors; for prompt tuning and P-tuning they are
 * what the decoder computes for the virtual-token embeddings at positions {@code 0..n-1}: in a causal
 * model the virtual tokens see only each other, so this equals prepending them to {@code inputs_embeds}
 * (HF PEFT's way) while the outputs, the labels and a generation cache stay those of the real tokens.
 *
 * <p>Encoders (BERT family): the virtual-token embeddings are prepended to {@code inputs_embeds},
 * the attention mask widened with ones, token types with zeros; the outputs at the virtual positions are
 * dropped from {@code last_hidden_state} (a pooler, which reads position 0, sees the first virtual token,
 * as in HF PEFT).
 */
final class PromptAdapters {
    static final String MODULE_NAME = "prompt_encoder";

    private final ModuleDict encoders = new ModuleDict();
    private final Map<String, PromptLearningConfig> configs = new LinkedHashMap<>();
    private final BaseShape shape;
    private String active;
    private boolean disabled;

    PromptAdapters(BaseShape shape) {
        this.shape = shape;
    }

    ModuleDict encoders() {
        return encoders;
    }

    BaseShape shape() {
        return shape;
    }

    void add(String name, PromptLearningConfig config, VirtualTokenEncoder encoder) {
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("An adapter named '" + name + "' already exists; adapters are " + configs.keySet());
        }
        encoders.put(name, encoder);
        configs.put(name, config);
        active = name;
    }

    void remove(String name) {
        require(name);
        encoders.remove(name);
        configs.remove(name);
        if (name.equals(active)) {
            active = configs.isEmpty() ? null : configs.keySet().iterator().next();
        }
    }

    boolean isEmpty() {
        return configs.isEmpty();
    }

    List<String> names() {
        return Collections.unmodifiableList(new ArrayList<>(configs.keySet()));
    }

    PromptLearningConfig config(String name) {
        require(name);
        return configs.get(name);
    }

    VirtualTokenEncoder encoder(String name) {
        require(name);
        return (VirtualTokenEncoder) encoders.get(name);
    }

    void replaceEncoder(String name, VirtualTokenEncoder encoder, PromptLearningConfig config) {
        require(name);
        encoders.remove(name);
        encoders.put(name, encoder);
        configs.put(name, config);
    }

    String active() {
        return active;
    }

    void setActive(String name) {
        require(name);
        active = name;
    }

    boolean disabled() {
        return disabled;
    }

    void setDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    private void require(String name) {
        if (!configs.containsKey(name)) {
            throw new IllegalArgumentException("No prompt-learning adapter '" + name + "'; adapters are " + configs.keySet());
        }
    }

    private boolean inactive() {
        return active == null || disabled;
    }

    /** A decoder's forward with the active adapter; {@code inner} is the base decoder's own forward. */
    ModelOutput forwardDecoder(ParameterStore ps, ForwardContext ctx, boolean training,
            Function<ForwardContext, ModelOutput> inner) {
        if (inactive()) {
            return inner.apply(ctx);
        }
        PromptLearningConfig config = configs.get(active);
        NDManager step = ctx.anyInput().getManager();
        long b = ctx.batchSize();
        int n = config.numVirtualTokens();
        NDArray vectors = encoder(active).output(ps, step, training);
        List<NDList> kv = config instanceof PrefixTuningConfig
                ? prefixKeysValues(vectors, b, n)
                : virtualTokenKeysValues(vectors, b, inner);
        ForwardContext.Builder out = ctx.toBuilder().keyValueCache(new PrefixCache(kv, n, ctx.keyValueCache()));
        if (ctx.attentionMask() != null) {
            NDArray mask = ctx.attentionMask();
            out.attentionMask(step.ones(new Shape(b, n), mask.getDataType()).concat(mask, 1));
        }
        if (ctx.positionIds() != null) {
            NDArray positions = ctx.positionIds();
            out.positionIds(positions.add(step.create((long) n).toType(positions.getDataType(), false)));
        }
        return inner.apply(out.build());
    }

    /** HF PEFT's {@code get_prompt} for prefix tuning: {@code [n, L*2*kv]} to per-layer {@code [B, kvHeads, n, d]}. */
    private List<NDList> prefixKeysValues(NDArray vectors, long b, int n) {
        NDArray all = vectors.reshape(n, 2L * shape.numLayers(), shape.numKeyValueHeads(), shape.headDim())
                .transpose(1, 2, 0, 3);
        List<NDList> out = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            out.add(new NDList(batched(all.get(2L * l), b), batched(all.get(2L * l + 1), b)));
        }
        return out;
    }

    /** Runs the virtual tokens alone (batch 1, positions 0..n-1) and keeps each layer's keys and values. */
    private List<NDList> virtualTokenKeysValues(NDArray vectors, long b, Function<ForwardContext, ModelOutput> inner) {
        CollectingCache collect = new CollectingCache();
        inner.apply(ForwardContext.builder().inputsEmbeds(vectors.expandDims(0)).keyValueCache(collect).build());
        List<NDList> out = new ArrayList<>();
        for (NDList layer : collect.layers(shape.numLayers())) {
            out.add(new NDList(repeat(layer.get(0), b), repeat(layer.get(1), b)));
        }
        return out;
    }

    private static NDArray batched(NDArray headsFirst, long b) {
        return repeat(headsFirst.expandDims(0), b);
    }

    private static NDArray repeat(NDArray one, long b) {
        return b == 1 ? one : one.repeat(0, b);
    }

    /** An encoder's forward with the active adapter; {@code wordEmbeddings} maps {@code input_ids} to vectors. */
    ModelOutput forwardEncoder(ParameterStore ps, ForwardContext ctx, boolean training, Module wordEmbeddings,
            Function<ForwardContext, ModelOutput> inner) {
        if (inactive()) {
            return inner.apply(ctx);
        }
        PromptLearningConfig config = configs.get(active);
        NDManager step = ctx.anyInput().getManager();
        long b = ctx.batchSize();
        int n = config.numVirtualTokens();
        NDArray virtual = repeat(encoder(active).output(ps, step, training).expandDims(0), b);
        NDArray embeds = ctx.inputsEmbeds() != null
                ? ctx.inputsEmbeds()
                : wordEmbeddings.forward(ps, new NDList(ctx.inputIds()), training).singletonOrThrow();
        ForwardContext.Builder out = ctx.toBuilder().inputIds(null).inputsEmbeds(virtual.concat(embeds, 1));
        if (ctx.attentionMask() != null) {
            NDArray mask = ctx.attentionMask();
            out.attentionMask(step.ones(new Shape(b, n), mask.getDataType()).concat(mask, 1));
        }
        if (ctx.tokenTypeIds() != null) {
            NDArray types = ctx.tokenTypeIds();
            out.tokenTypeIds(step.zeros(new Shape(b, n), types.getDataType()).concat(types, 1));
        }
        if (ctx.positionIds() != null) {
            NDArray positions = ctx.positionIds();
            long rows = positions.getShape().get(0);
            NDArray first = step.arange(0, n, 1, DataType.INT64).reshape(1, n).repeat(0, rows).toType(positions.getDataType(), false);
            out.positionIds(first.concat(positions.add(step.create((long) n).toType(positions.getDataType(), false)), 1));
        }
        ModelOutput result = inner.apply(out.build());
        ModelOutput.Builder stripped = ModelOutput.builder();
        for (String name : result.names()) {
            NDArray a = result.require(name);
            stripped.put(name, name.equals(ModelOutput.LAST_HIDDEN_STATE) ? a.get(new NDIndex(":, " + n + ":, :")) : a);
        }
        return stripped.build();
    }
}

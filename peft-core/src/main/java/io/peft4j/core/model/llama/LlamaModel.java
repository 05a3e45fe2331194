package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.ContextModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.GradientCheckpointing;
import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleList;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code LlamaModel}: {@code embed_tokens}, {@code layers}, {@code norm}. Takes
 * {@code input_ids} or {@code inputs_embeds}, {@code attention_mask} (over past and current positions),
 * {@code position_ids} (default: continuing after the cache's length) and a {@link KeyValueCache};
 * returns {@code last_hidden_state} after the final norm.
 */
public class LlamaModel extends Module implements ContextModel {
    private final LlamaConfig config;
    private final RotaryEmbedding rotary;

    public LlamaModel(LlamaConfig config) {
        this.config = config;
        this.rotary = new RotaryEmbedding(config);
        registerModule("embed_tokens", new Embedding(config.vocabSize(), config.hiddenSize()));
        List<LlamaDecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new LlamaDecoderLayer(config));
        }
        registerModule("layers", new ModuleList<>(layers));
        registerModule("norm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training) {
        KeyValueCache cache = ctx.keyValueCache();
        // Read once: layer 0's append grows the cache before the other layers run.
        long past = cache == null ? 0 : cache.length();
        long t = ctx.sequenceLength();
        NDArray x = ctx.inputsEmbeds() != null ? ctx.inputsEmbeds()
                : call(child("embed_tokens"), ps, ctx.inputIds(), training);
        NDManager m = ctx.anyInput().getManager();
        NDArray positions = ctx.positionIds() != null ? ctx.positionIds()
                : m.arange(past, past + t, 1, DataType.INT64).reshape(1, t);
        long maxPosition = ctx.positionIds() == null ? past + t - 1 : positions.max().toType(DataType.INT64, false).getLong();
        NDList rope = rotary.cosSin(positions, maxPosition + 1);
        NDArray mask = additiveMask(ctx.attentionMaskOrOnes(), past, t);
        // Sliding layers (Mistral; Qwen2 from max_window_layers on) see only the last sliding_window keys. The cache
        // keeps every key; the mask hides those past the window, so cached and uncached decoding agree.
        NDArray windowMask = config.slidingWindow() == null ? null
                : additiveMask(ctx.attentionMaskOrOnes(), past, t, config.slidingWindow());
        ModuleList<?> layers = (ModuleList<?>) child("layers");
        x = GradientCheckpointing.runLayers(layers.size(), x, training, cache == null,
                (i, h) -> ((LlamaDecoderLayer) layers.get(i)).decode(ps, h, rope,
                        config.slidingWindow(i) == null ? mask : windowMask, cache, i, training));
        NDArray hidden = call(child("norm"), ps, x, training);
        return ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, hidden).build();
    }

    /**
     * {@code [B, 1, T, past + T]}: 0 where query {@code i} (at {@code past + i}) may see key {@code j}
     * ({@code j <= past + i} and {@code attention_mask[b, j] = 1}), the lowest float elsewhere. Blocked
     * entries are finite, not {@code -inf}, so a row with every key blocked (a left-padding query) gives
     * uniform weights instead of NaN, and its output is ignored by the loss.
     */
    public static NDArray additiveMask(NDArray attentionMask, long past, long t) {
        return additiveMask(attentionMask, past, t, null);
    }

    /**
     * As {@link #additiveMask(NDArray, long, long)}, and with a sliding {@code window} (null for none) key
     * {@code j} is seen by query position {@code p = past + i} only when {@code p - window < j}: the query
     * and the {@code window - 1} keys before it, transformers' {@code sliding_window_overlay}.
     */
    public static NDArray additiveMask(NDArray attentionMask, long past, long t, Integer window) {
        long s = past + t;
        float[] causal = new float[(int) (t * s)];
        for (int i = 0; i < t; i++) {
            long from = window == null ? 0 : Math.max(0, past + i - window + 1);
            for (long j = from; j <= past + i; j++) {
                causal[(int) (i * s + j)] = 1f;
            }
        }
        NDManager m = attentionMask.getManager();
        NDArray keys = attentionMask.toType(DataType.FLOAT32, false).reshape(attentionMask.getShape().get(0), 1, 1, s);
        NDArray allowed = keys.mul(m.create(causal, new Shape(t, s)));
        return allowed.sub(Module.scalar(allowed, 1f)).mul(Module.scalar(allowed, Float.MAX_VALUE));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ForwardContext.Builder ctx = ForwardContext.builder().inputIds(inputs.get(0));
        if (inputs.size() > 1) {
            ctx.attentionMask(inputs.get(1));
        }
        return new NDList(forward(ps, ctx.build(), training).lastHiddenState());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.hiddenSize())};
    }
}

package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.ContextModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.GradientCheckpointing;
import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.llama.LlamaModel;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleList;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code GPT2Model}: {@code wte}, {@code wpe} (learned positions), {@code h} (the blocks)
 * and {@code ln_f}. Takes {@code input_ids} or {@code inputs_embeds}, {@code attention_mask} (over past
 * and current positions), {@code position_ids} (default: continuing after the cache's length) and a
 * {@link KeyValueCache}; returns {@code last_hidden_state} after {@code ln_f}.
 */
public class Gpt2Model extends Module implements ContextModel {
    private final Gpt2Config config;

    public Gpt2Model(Gpt2Config config) {
        this.config = config;
        registerModule("wte", new Embedding(config.vocabSize(), config.hiddenSize()));
        registerModule("wpe", new Embedding(config.nPositions(), config.hiddenSize()));
        List<Gpt2Block> blocks = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            blocks.add(new Gpt2Block(config, i));
        }
        registerModule("h", new ModuleList<>(blocks));
        registerModule("ln_f", new LayerNorm(config.hiddenSize(), config.layerNormEpsilon()));
    }

    public Gpt2Config config() {
        return config;
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training) {
        KeyValueCache cache = ctx.keyValueCache();
        // Read once: block 0's append grows the cache before the other blocks run.
        long past = cache == null ? 0 : cache.length();
        long t = ctx.sequenceLength();
        NDArray x = ctx.inputsEmbeds() != null ? ctx.inputsEmbeds()
                : call(child("wte"), ps, ctx.inputIds(), training);
        NDArray positions = ctx.positionIds() != null ? ctx.positionIds()
                : x.getManager().arange(past, past + t, 1, DataType.INT64).reshape(1, t);
        long maxPosition = ctx.positionIds() == null ? past + t - 1 : positions.max().toType(DataType.INT64, false).getLong();
        if (maxPosition >= config.nPositions()) {
            // wpe has n_positions rows: a later position has no embedding (torch would fail with an index error).
            throw new IllegalArgumentException("gpt2: position " + maxPosition + " is past n_positions " + config.nPositions()
                    + "; shorten the sequence (with the cache) to at most " + config.nPositions() + " positions");
        }
        x = x.add(call(child("wpe"), ps, positions, training));
        NDArray mask = LlamaModel.additiveMask(ctx.attentionMaskOrOnes(), past, t);
        ModuleList<?> blocks = (ModuleList<?>) child("h");
        x = GradientCheckpointing.runLayers(blocks.size(), x, training, cache == null,
                (i, h) -> ((Gpt2Block) blocks.get(i)).decode(ps, h, mask, cache, i, training));
        NDArray hidden = call(child("ln_f"), ps, x, training);
        return ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, hidden).build();
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

package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Module;

/** transformers' {@code GPT2Block}, pre-LayerNorm: {@code h = x + attn(ln_1(x))}, then {@code h + mlp(ln_2(h))}. */
public class Gpt2Block extends Module {
    public Gpt2Block(Gpt2Config c, int layerIndex) {
        registerModule("ln_1", new LayerNorm(c.hiddenSize(), c.layerNormEpsilon()));
        registerModule("attn", new Gpt2Attention(c, layerIndex));
        registerModule("ln_2", new LayerNorm(c.hiddenSize(), c.layerNormEpsilon()));
        registerModule("mlp", new Gpt2Mlp(c));
    }

    /** One block over {@code x [B, T, H]}; see {@link Gpt2Attention#attend} for the other arguments. */
    NDArray decode(ParameterStore ps, NDArray x, NDArray mask, KeyValueCache cache, int index, boolean training) {
        Gpt2Attention attention = (Gpt2Attention) child("attn");
        NDArray h = x.add(attention.attend(ps, call(child("ln_1"), ps, x, training), mask, cache, index, training));
        return h.add(call(child("mlp"), ps, call(child("ln_2"), ps, h, training), training));
    }

    /** Positional form: {@code hidden, mask} to the block's output, without a cache. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(decode(ps, inputs.get(0), inputs.get(1), null, 0, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

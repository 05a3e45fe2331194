package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.nn.Module;

/**
 * transformers' {@code LlamaDecoderLayer}, pre-norm: {@code h = x + self_attn(input_layernorm(x))},
 * then {@code h + mlp(post_attention_layernorm(h))}.
 */
public class LlamaDecoderLayer extends Module {
    public LlamaDecoderLayer(LlamaConfig c) {
        registerModule("self_attn", new LlamaAttention(c));
        registerModule("mlp", new LlamaMlp(c));
        registerModule("input_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
        registerModule("post_attention_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
    }

    /** One layer over {@code x [B, T, H]}; see {@link LlamaAttention#attend} for the other arguments. */
    NDArray decode(ParameterStore ps, NDArray x, NDList rope, NDArray mask, KeyValueCache cache, int index, boolean training) {
        LlamaAttention attention = (LlamaAttention) child("self_attn");
        NDArray h = x.add(attention.attend(ps, call(child("input_layernorm"), ps, x, training), rope, mask, cache, index, training));
        return h.add(call(child("mlp"), ps, call(child("post_attention_layernorm"), ps, h, training), training));
    }

    /** Positional form: {@code hidden, cos, sin, mask} to the layer's output, without a cache. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(decode(ps, inputs.get(0), new NDList(inputs.get(1), inputs.get(2)), inputs.get(3), null, 0, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

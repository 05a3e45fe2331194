package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Module;

/**
 * transformers' {@code GPT2Attention}: {@code c_attn} projects to queries, keys and values at once
 * ({@code [q | k | v]} along the last axis), {@code c_proj} projects the heads back; scores are scaled
 * by {@code 1/sqrt(head_dim)} when {@code scale_attn_weights}, and by {@code 1/(layer_idx + 1)} when
 * {@code scale_attn_by_inverse_layer_idx}. The {@code attn.bias}/{@code attn.masked_bias} buffers of
 * old checkpoints are replaced by the additive mask the model passes in.
 */
public class Gpt2Attention extends Module {
    private final int heads;
    private final int headDim;
    private final long embd;
    private final float scale;

    public Gpt2Attention(Gpt2Config c, int layerIndex) {
        this.heads = c.nHead();
        this.headDim = c.headDim();
        this.embd = c.hiddenSize();
        float s = c.scaleAttnWeights() ? (float) (1 / Math.sqrt(headDim)) : 1f;
        this.scale = c.scaleAttnByInverseLayerIdx() ? s / (layerIndex + 1) : s;
        registerModule("c_attn", new Conv1D(embd, 3 * embd));
        registerModule("c_proj", new Conv1D(embd, embd));
    }

    /**
     * @param x hidden states {@code [B, T, H]}
     * @param mask additive mask {@code [B, 1, T, past + T]}
     * @param cache null, or the cache whose layer {@code layerIndex} holds the past keys and values
     */
    NDArray attend(ParameterStore ps, NDArray x, NDArray mask, KeyValueCache cache, int layerIndex, boolean training) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDList qkv = call(child("c_attn"), ps, x, training).split(3, 2);
        NDArray q = split(qkv.get(0), b, t);
        NDArray k = split(qkv.get(1), b, t);
        NDArray v = split(qkv.get(2), b, t);
        if (cache != null) {
            NDList kv = cache.append(layerIndex, k, v);
            k = kv.get(0);
            v = kv.get(1);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scalar(q, scale)).add(mask);
        NDArray context = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, embd);
        return call(child("c_proj"), ps, context, training);
    }

    private NDArray split(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
    }

    /** Positional form: {@code hidden, mask} to the attention's output, without a cache. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(attend(ps, inputs.get(0), inputs.get(1), null, 0, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

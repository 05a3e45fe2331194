package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * transformers' {@code LlamaAttention}: {@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj},
 * rotary embeddings on queries and keys, grouped-query attention (each key/value head serves
 * {@code heads / kvHeads} query heads, as {@code repeat_kv}), and an additive mask for causality and padding.
 * Keys and values go into the cache after RoPE and before the repeat, as transformers stores them.
 */
public class LlamaAttention extends Module {
    private final int heads;
    private final int kvHeads;
    private final int headDim;

    public LlamaAttention(LlamaConfig c) {
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        registerModule("q_proj", new Linear(c.hiddenSize(), (long) heads * headDim, c.qkvBias()));
        registerModule("k_proj", new Linear(c.hiddenSize(), (long) kvHeads * headDim, c.qkvBias()));
        registerModule("v_proj", new Linear(c.hiddenSize(), (long) kvHeads * headDim, c.qkvBias()));
        registerModule("o_proj", new Linear((long) heads * headDim, c.hiddenSize(), c.attentionBias()));
    }

    /**
     * @param x hidden states {@code [B, T, H]}
     * @param rope {@code [cos, sin]} of the current positions
     * @param mask additive mask {@code [B, 1, T, past + T]}
     * @param cache null, or the cache whose layer {@code layerIndex} holds the past keys and values
     */
    NDArray attend(ParameterStore ps, NDArray x, NDList rope, NDArray mask, KeyValueCache cache, int layerIndex,
            boolean training) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray q = RotaryEmbedding.apply(split(call(child("q_proj"), ps, x, training), b, t, heads), rope.get(0), rope.get(1));
        NDArray k = RotaryEmbedding.apply(split(call(child("k_proj"), ps, x, training), b, t, kvHeads), rope.get(0), rope.get(1));
        NDArray v = split(call(child("v_proj"), ps, x, training), b, t, kvHeads);
        if (cache != null) {
            NDList kv = cache.append(layerIndex, k, v);
            k = kv.get(0);
            v = kv.get(1);
        }
        // Grouped queries: [B, kvHeads, group, T, d] against [B, kvHeads, 1, S, d] broadcasts repeat_kv without copying.
        int group = heads / kvHeads;
        NDArray qg = q.reshape(b, kvHeads, group, t, headDim);
        NDArray scores = qg.matMul(k.expandDims(2).transpose(0, 1, 2, 4, 3))
                .div(scalar(qg, (float) Math.sqrt(headDim)))
                .add(mask.expandDims(1));
        NDArray probs = scores.softmax(-1);
        NDArray context = probs.matMul(v.expandDims(2)).reshape(b, heads, t, headDim)
                .transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
        return call(child("o_proj"), ps, context, training);
    }

    private NDArray split(NDArray x, long b, long t, int n) {
        return x.reshape(b, t, n, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(attend(ps, inputs.get(0), new NDList(inputs.get(1), inputs.get(2)), inputs.get(3), null, 0, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

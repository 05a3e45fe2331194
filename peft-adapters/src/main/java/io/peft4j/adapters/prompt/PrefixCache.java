package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import io.peft4j.core.model.KeyValueCache;

import java.util.List;

/**
 * Learned keys and values in front of every attention layer, as transformers' {@code past_key_values}
 * hold prefix tuning's prefixes: {@link #length()} counts them (so the real tokens' default positions
 * start after them, and the attention mask covers them), and {@link #append} returns prefix + (the
 * generation cache's past +) current keys without keeping the prefix anywhere: it is rebuilt from the
 * adapter's parameters each forward, so gradients reach them. The generation cache underneath, when
 * there is one, sees only real tokens.
 */
final class PrefixCache implements KeyValueCache {
    private final List<NDList> prefix;
    private final long prefixLength;
    private final KeyValueCache inner;

    /**
     * @param prefix per layer {@code [keys, values]}, each {@code [B, kvHeads, n, headDim]}
     * @param inner the cache of earlier real tokens, or null
     */
    PrefixCache(List<NDList> prefix, long prefixLength, KeyValueCache inner) {
        this.prefix = prefix;
        this.prefixLength = prefixLength;
        this.inner = inner;
    }

    @Override
    public long length() {
        return prefixLength + (inner == null ? 0 : inner.length());
    }

    @Override
    public NDList layer(int index) {
        NDList past = inner == null ? null : inner.layer(index);
        NDList p = prefixOf(index);
        return past == null ? p : new NDList(p.get(0).concat(past.get(0), 2), p.get(1).concat(past.get(1), 2));
    }

    @Override
    public NDList append(int index, NDArray keys, NDArray values) {
        NDList p = prefixOf(index);
        long[] want = p.get(0).getShape().getShape();
        long[] got = keys.getShape().getShape();
        if (got.length != 4 || got[0] != want[0] || got[1] != want[1] || got[3] != want[3]) {
            throw new IllegalArgumentException("layer " + index + ": keys " + keys.getShape()
                    + " do not fit the prefix " + p.get(0).getShape() + " ([B, kv_heads, n, head_dim])");
        }
        NDList current = inner == null ? new NDList(keys, values) : inner.append(index, keys, values);
        return new NDList(p.get(0).concat(current.get(0), 2), p.get(1).concat(current.get(1), 2));
    }

    private NDList prefixOf(int index) {
        if (index < 0 || index >= prefix.size()) {
            throw new IllegalArgumentException("The prefix has " + prefix.size() + " layers; the model asked for layer " + index);
        }
        return prefix.get(index);
    }
}

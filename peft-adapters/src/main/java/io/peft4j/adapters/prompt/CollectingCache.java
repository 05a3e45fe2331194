package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import io.peft4j.core.model.KeyValueCache;

import java.util.ArrayList;
import java.util.List;

/**
 * An empty cache that records the keys and values each layer computes, without copying them, so
 * gradients flow back through them (a {@code DynamicKeyValueCache} keeps detached copies). Used to run
 * prompt tuning's virtual tokens through a decoder once and reuse their keys and values as a prefix.
 */
final class CollectingCache implements KeyValueCache {
    private final List<NDList> layers = new ArrayList<>();

    @Override
    public long length() {
        return 0;
    }

    @Override
    public NDList layer(int index) {
        return null;
    }

    @Override
    public NDList append(int index, NDArray keys, NDArray values) {
        while (layers.size() <= index) {
            layers.add(null);
        }
        layers.set(index, new NDList(keys, values));
        return new NDList(keys, values);
    }

    /** Per layer {@code [keys, values]}; an error when a layer appended nothing. */
    List<NDList> layers(int expected) {
        if (layers.size() != expected || layers.contains(null)) {
            throw new IllegalStateException("The decoder filled " + layers.size() + " of " + expected
                    + " layers of the cache; prompt tuning needs every attention layer to read the cache");
        }
        return layers;
    }
}

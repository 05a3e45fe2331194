package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;

import java.util.ArrayList;
import java.util.List;

/**
 * A key/value cache that grows by the current tokens at each forward, as transformers'
 * {@code DynamicCache}: layer {@code i} keeps {@code [B, heads, past, headDim]} keys and values and
 * each {@link #append} concatenates along the position axis. Its arrays live in its own manager
 * (closed with the cache); the concatenation a layer attends to is lent to the manager of the keys
 * passed in (the forward's step manager) until that one closes, so whatever the layer computes from
 * it is freed with the step, not kept until the cache closes.
 *
 * <p>{@link #length()} is layer 0's length: a model reads it once, before its layers append (as
 * transformers' {@code get_seq_length()}).
 */
public final class DynamicKeyValueCache implements KeyValueCache, AutoCloseable {
    private final NDManager manager;
    private final List<NDList> layers = new ArrayList<>();

    /** A cache whose arrays live in a new root manager on the compute device. */
    public DynamicKeyValueCache() {
        this.manager = Compute.newManager();
    }

    /** @param parent the manager the cache's own manager is a sub-manager of (e.g. the model's) */
    public DynamicKeyValueCache(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    @Override
    public long length() {
        NDList first = layers.isEmpty() ? null : layers.get(0);
        return first == null ? 0 : first.get(0).getShape().get(2);
    }

    @Override
    public NDList layer(int index) {
        return index < layers.size() ? layers.get(index) : null;
    }

    @Override
    public NDList append(int index, NDArray keys, NDArray values) {
        if (keys.getShape().dimension() != 4 || !keys.getShape().equals(values.getShape())) {
            throw new IllegalArgumentException("layer " + index + ": keys and values must both be [B, heads, T, headDim], got "
                    + keys.getShape() + " and " + values.getShape());
        }
        while (layers.size() <= index) {
            layers.add(null);
        }
        NDList past = layers.get(index);
        if (past == null) {
            NDList kept = new NDList(keep(keys.duplicate()), keep(values.duplicate()));
            layers.set(index, kept);
            // The caller's own arrays: they are already the step's.
            return new NDList(keys, values);
        }
        if (past.get(0).getShape().get(0) != keys.getShape().get(0) || past.get(0).getShape().get(1) != keys.getShape().get(1)
                || past.get(0).getShape().get(3) != keys.getShape().get(3)) {
            throw new IllegalArgumentException("layer " + index + ": new keys " + keys.getShape()
                    + " do not continue the cached " + past.get(0).getShape());
        }
        NDArray k = keep(past.get(0).concat(keys, 2));
        NDArray v = keep(past.get(1).concat(values, 2));
        past.close();
        layers.set(index, new NDList(k, v));
        k.tempAttach(keys.getManager());
        v.tempAttach(values.getManager());
        return new NDList(k, v);
    }

    private NDArray keep(NDArray a) {
        a.attach(manager);
        return a;
    }

    /** Number of layers holding keys. */
    public int layerCount() {
        return layers.size();
    }

    /** Drops every cached position, keeping the cache usable. */
    public void clear() {
        for (NDList l : layers) {
            if (l != null) {
                l.close();
            }
        }
        layers.clear();
    }

    /** Frees every cached array. */
    @Override
    public void close() {
        layers.clear();
        manager.close();
    }
}

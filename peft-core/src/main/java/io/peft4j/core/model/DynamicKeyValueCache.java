package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code DynamicCache}: per layer, the keys and values of every position seen so far,
 * grown by concatenation along the sequence axis. The cache keeps its arrays in a manager of its own,
 * so a caller may close each step's manager; what {@link #append} returns lives in the manager of the
 * keys given, so work on it stays with the step. Replaced arrays are closed at once: memory holds one
 * copy of the past per layer. Close the cache when done.
 */
public final class DynamicKeyValueCache implements KeyValueCache, AutoCloseable {
    private final NDManager manager = Compute.newManager();
    private final List<NDList> layers = new ArrayList<>();

    @Override
    public long length() {
        return layers.isEmpty() || layers.get(0) == null ? 0 : layers.get(0).get(0).getShape().get(2);
    }

    @Override
    public NDList layer(int index) {
        return index < layers.size() ? layers.get(index) : null;
    }

    /** Number of layers holding keys. */
    public int layerCount() {
        return layers.size();
    }

    @Override
    public NDList append(int index, NDArray keys, NDArray values) {
        while (layers.size() <= index) {
            layers.add(null);
        }
        NDList past = layers.get(index);
        NDArray k;
        NDArray v;
        if (past == null) {
            k = keys;
            v = values;
        } else {
            checkFits(index, past.get(0), keys);
            k = past.get(0).concat(keys, 2);
            v = past.get(1).concat(values, 2);
            // The concatenation lands in the cache's manager (its first operand's); hand it to the step.
            k.attach(keys.getManager());
            v.attach(values.getManager());
            past.close();
        }
        NDArray keptK = k.duplicate();
        NDArray keptV = v.duplicate();
        keptK.attach(manager);
        keptV.attach(manager);
        layers.set(index, new NDList(keptK, keptV));
        return new NDList(k, v);
    }

    private static void checkFits(int index, NDArray past, NDArray keys) {
        long[] p = past.getShape().getShape();
        long[] k = keys.getShape().getShape();
        if (k.length != 4 || p[0] != k[0] || p[1] != k[1] || p[3] != k[3]) {
            throw new IllegalArgumentException("layer " + index + ": keys " + keys.getShape() + " do not extend the cached "
                    + past.getShape() + " (expected [" + p[0] + ", " + p[1] + ", T, " + p[3] + "])");
        }
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

    @Override
    public void close() {
        layers.clear();
        manager.close();
    }
}

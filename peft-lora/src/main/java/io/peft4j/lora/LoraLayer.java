package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.nn.Module;
import io.peft4j.core.tuner.AdapterLayer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A base layer plus low-rank updates for any number of named adapters ({@link AdapterLayer} keeps
 * names, active set, merges and the disabled switch). Merging folds an adapter's update into the
 * base weight so that inference costs nothing extra; unmerging takes it out again.
 */
public abstract class LoraLayer extends AdapterLayer {
    private final Map<String, AdapterSettings> settings = new LinkedHashMap<>();
    /** DoRA's per-row factor used when merging, needed to unmerge exactly that merge. */
    private final Map<String, NDArray> mergedDoraFactors = new LinkedHashMap<>();

    protected LoraLayer(Module base) {
        super(base);
    }

    public AdapterSettings settings(String adapter) {
        AdapterSettings s = settings.get(adapter);
        if (s == null) {
            throw new IllegalArgumentException("This layer has no adapter '" + adapter + "'; it has " + settings.keySet());
        }
        return s;
    }

    /** Creates the adapter's parameters, initialized as {@code init} says (PiSSA also rewrites the base weight). */
    final void addAdapter(String name, AdapterSettings s, InitLoraWeights init, NDManager manager) {
        if (hasAdapter(name)) {
            throw new IllegalArgumentException("Adapter '" + name + "' already exists in this layer");
        }
        createAdapter(name, s, init, manager);
        adapterCreated(name);
        settings.put(name, s);
    }

    protected abstract void createAdapter(String name, AdapterSettings s, InitLoraWeights init, NDManager manager);

    /** Frees the adapter's matrices; the settings go with them. */
    @Override
    protected final void removeAdapter(String name) {
        removeMatrices(name);
        settings.remove(name);
    }

    protected abstract void removeMatrices(String name);

    /** A of the adapter: {@code [r, fan_in]} (fan_in = in_features, or num_embeddings). */
    protected abstract NDArray matrixA(String name);

    /** B of the adapter: {@code [fan_out, r]}. */
    protected abstract NDArray matrixB(String name);

    /** Replaces A and B of the adapter (shapes as declared), taking ownership of the arrays. */
    protected abstract void setMatrices(String name, NDArray a, NDArray b);

    /**
     * Fills adapter {@code name} (already created with the combined rank and scaling 1) with a
     * weighted combination of {@code sources}; see {@link Combination}.
     */
    void setCombined(String name, List<String> sources, List<Double> weights, Combination combination) {
        int rows = settings(name).r();
        long fanIn = matrixA(name).getShape().get(1);
        long fanOut = matrixB(name).getShape().get(0);
        float[] a = new float[Math.toIntExact(rows * fanIn)];
        float[] b = new float[Math.toIntExact(fanOut * rows)];
        int offset = 0;
        for (int i = 0; i < sources.size(); i++) {
            String src = sources.get(i);
            if (!hasAdapter(src)) {
                continue;
            }
            int r = settings(src).r();
            float[] ai = matrixA(src).toFloatArray();
            float[] bi = matrixB(src).toFloatArray();
            double w = weights.get(i);
            double s = settings(src).scaling();
            double fa = combination == Combination.LINEAR ? Math.sqrt(w) * s : w * s;
            double fb = combination == Combination.LINEAR ? Math.sqrt(w) : 1;
            int rowBase = combination == Combination.LINEAR ? 0 : offset;
            for (int k = 0; k < r; k++) {
                for (long j = 0; j < fanIn; j++) {
                    a[Math.toIntExact((rowBase + k) * fanIn + j)] += (float) (fa * ai[Math.toIntExact(k * fanIn + j)]);
                }
                for (long o = 0; o < fanOut; o++) {
                    b[Math.toIntExact(o * rows + rowBase + k)] += (float) (fb * bi[Math.toIntExact(o * r + k)]);
                }
            }
            offset += r;
        }
        NDManager m = matrixA(name).getManager();
        setMatrices(name, m.create(a, new Shape(rows, fanIn)), m.create(b, new Shape(fanOut, rows)));
    }

    @Override
    protected void mergesKept() {
        mergedDoraFactors.values().forEach(NDArray::close);
        mergedDoraFactors.clear();
    }

    /** The adapter's update of the base weight, {@code scaling * B A} laid out as the base weight. */
    protected abstract NDArray delta(String name);

    /** DoRA's magnitude vector, or null when the adapter is plain LoRA. */
    protected abstract NDArray magnitude(String name);

    /** Folds the adapter into the base weight (DoRA: rescaled rows, with the factor kept for unmerge). */
    @Override
    protected void mergeAdapter(String name) {
        NDManager home = matrixA(name).getManager();
        NDArray updated;
        try (NDManager tmp = home.newSubManager()) {
            // Work arrays land in tmp (results go to their first operand's manager) and die with it.
            NDArray w = readBaseWeight(tmp);
            adapterArrays(name).values().forEach(a -> a.tempAttach(tmp));
            NDArray sum = w.add(delta(name));
            NDArray mag = magnitude(name);
            if (mag == null) {
                updated = sum;
            } else {
                // DoRA: W' = m / ||W + dW||_row * (W + dW), with the factor kept for unmerge.
                NDArray factor = mag.div(sum.norm(new int[] {1})).reshape(-1, 1);
                updated = sum.mul(factor);
                factor.attach(home);
                mergedDoraFactors.put(name, factor);
            }
            updated.attach(home);
        }
        writeBaseWeight(updated);
    }

    @Override
    protected void unmergeAdapter(String name) {
        NDManager home = matrixA(name).getManager();
        NDArray restored;
        try (NDManager tmp = home.newSubManager()) {
            NDArray w = readBaseWeight(tmp);
            adapterArrays(name).values().forEach(a -> a.tempAttach(tmp));
            NDArray factor = mergedDoraFactors.remove(name);
            NDArray unscaled = w;
            if (factor != null) {
                factor.attach(tmp);
                unscaled = w.div(factor);
            }
            restored = unscaled.sub(delta(name));
            restored.attach(home);
        }
        writeBaseWeight(restored);
    }

    /**
     * The base weight as a float32 array for the merge arithmetic, lent to or created in {@code tmp}:
     * the parameter itself for a float32 base (lent, so it returns when tmp closes), a dequantized
     * copy for a quantized base.
     */
    protected abstract NDArray readBaseWeight(NDManager tmp);

    /** Stores a new base weight (float32, owned by the model's manager); a quantized base re-quantizes it. */
    protected abstract void writeBaseWeight(NDArray w);
}

package io.peft4j.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.WeightDelta;

import java.util.Arrays;
import java.util.Objects;

/**
 * A sparse update of one weight tensor: the positions it changes as flat row-major indices into the
 * tensor and a float32 value per position, so that the updated tensor is
 * {@code W + scatter_add(indices, values)}. It is the currency SpIEL, LT-SFT and their compositions
 * share: a host-side immutable value (the trained parameters live in the model while training; this
 * is what is saved, loaded, merged and composed).
 *
 * <p>Indices are held sorted and unique (a canonical form, so equal deltas compare equal and two
 * deltas add by merging their index lists). On disk they are int32, or int64 when the tensor has
 * 2^31 elements or more ({@link #indexType()}), as the reference implementation writes them.
 */
public final class SparseDelta {
    /** Tensors with this many elements or more need int64 indices. */
    public static final long INT32_LIMIT = 1L << 31;

    private final String name;
    private final long[] shape;
    private final long[] indices;
    private final float[] values;

    private SparseDelta(String name, long[] shape, long[] indices, float[] values) {
        this.name = name;
        this.shape = shape;
        this.indices = indices;
        this.values = values;
    }

    /**
     * A delta of tensor {@code name} (the model's parameter name, e.g.
     * {@code bert.encoder.layer.0.attention.self.query.weight}) with the given shape. The pairs
     * (index, value) may come in any order; they are sorted. Indices out of range or repeated are refused.
     */
    public static SparseDelta of(String name, long[] shape, long[] indices, float[] values) {
        Objects.requireNonNull(name, "name");
        if (indices.length != values.length) {
            throw new IllegalArgumentException("Sparse delta of " + name + ": " + indices.length + " indices but "
                    + values.length + " values");
        }
        long numel = Tensor.numel(shape);
        Integer[] order = new Integer[indices.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(indices[a], indices[b]));
        long[] sortedIdx = new long[indices.length];
        float[] sortedVal = new float[values.length];
        for (int i = 0; i < order.length; i++) {
            sortedIdx[i] = indices[order[i]];
            sortedVal[i] = values[order[i]];
            if (sortedIdx[i] < 0 || sortedIdx[i] >= numel) {
                throw new IllegalArgumentException("Sparse delta of " + name + ": index " + sortedIdx[i]
                        + " is outside a tensor of shape " + Arrays.toString(shape) + " (" + numel + " elements)");
            }
            if (i > 0 && sortedIdx[i] == sortedIdx[i - 1]) {
                throw new IllegalArgumentException("Sparse delta of " + name + ": index " + sortedIdx[i]
                        + " appears twice");
            }
        }
        return new SparseDelta(name, shape.clone(), sortedIdx, sortedVal);
    }

    /** A delta from arrays of indices (any integer type, flat) and float values, copied to the host. */
    public static SparseDelta of(String name, long[] shape, NDArray indices, NDArray values) {
        long[] idx = indices.toType(DataType.INT64, false).toLongArray();
        float[] val = values.toType(DataType.FLOAT32, false).toFloatArray();
        return of(name, shape, idx, val);
    }

    /** An empty delta (no positions) of a tensor. */
    public static SparseDelta empty(String name, long[] shape) {
        return of(name, shape, new long[0], new float[0]);
    }

    public String name() {
        return name;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Elements of the dense tensor. */
    public long numel() {
        return Tensor.numel(shape);
    }

    /** Number of positions the delta changes. */
    public int size() {
        return indices.length;
    }

    /** {@link #size()} over {@link #numel()}. */
    public double density() {
        return numel() == 0 ? 0 : (double) indices.length / numel();
    }

    /** The flat row-major indices, ascending. */
    public long[] indices() {
        return indices.clone();
    }

    /** The values, in the order of {@link #indices()}. */
    public float[] values() {
        return values.clone();
    }

    /** The index type stored on disk: I32, or I64 when the tensor has 2^31 elements or more. */
    public DType indexType() {
        return indexTypeFor(numel());
    }

    /** The index type for a tensor of {@code numel} elements. */
    public static DType indexTypeFor(long numel) {
        return numel >= INT32_LIMIT ? DType.I64 : DType.I32;
    }

    /** The indices as an int64 array owned by {@code manager} (int64 is what libtorch indexes with). */
    public NDArray indicesArray(NDManager manager) {
        return manager.create(indices);
    }

    /** The values as a float32 array owned by {@code manager}. */
    public NDArray valuesArray(NDManager manager) {
        return manager.create(values);
    }

    /** The dense float32 update, shaped as the tensor, owned by {@code manager}. */
    public NDArray dense(NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray d = scatter(indicesArray(scope), valuesArray(scope), shape, scope);
            d.attach(manager);
            return d;
        }
    }

    /**
     * The dense update {@code scatter(indices, values)} of a tensor of the given shape, owned by
     * {@code step}: differentiable in {@code values}, whose gradient is the dense gradient gathered at
     * the indices (PyTorch's scatter backward), so training never keeps a dense gradient of the delta.
     * {@code indices} must be int64 and unique (as every {@link SparseDelta} and SpIEL's layer keep them).
     */
    public static NDArray scatter(NDArray indices, NDArray values, long[] shape, NDManager step) {
        NDArray zeros = step.zeros(new Shape(Tensor.numel(shape)), DataType.FLOAT32);
        if (indices.getShape().size() == 0) {
            return zeros.reshape(new Shape(shape));
        }
        return zeros.scatter(indices, values, 0).reshape(new Shape(shape));
    }

    /** {@code w + delta} as a new array in {@code w}'s manager and dtype; {@code w} is unchanged. */
    public NDArray applyTo(NDArray w) {
        return combine(w, false);
    }

    /** {@code w - delta} as a new array in {@code w}'s manager and dtype; undoes {@link #applyTo} up to rounding. */
    public NDArray removeFrom(NDArray w) {
        return combine(w, true);
    }

    private NDArray combine(NDArray w, boolean subtract) {
        checkShape(w.getShape().getShape(), "tensor it is applied to");
        try (NDManager scope = w.getManager().newSubManager()) {
            NDArray d = dense(scope);
            NDArray wf = w.getDataType() == DataType.FLOAT32 ? w : w.toType(DataType.FLOAT32, false);
            NDArray out = subtract ? wf.sub(d) : wf.add(d);
            if (w.getDataType() != DataType.FLOAT32) {
                NDArray cast = out.toType(w.getDataType(), false);
                if (wf != w) {
                    wf.close();
                }
                out.close();
                out = cast;
            }
            out.attach(w.getManager());
            return out;
        }
    }

    /**
     * Adds the delta into a linear layer's stored weight: a float layer keeps it exactly (up to float
     * rounding), a quantized layer is dequantized, updated and quantized again.
     */
    public void mergeInto(LinearLayer layer) {
        writeCombined(layer, false);
    }

    /** Subtracts the delta from a linear layer's stored weight ({@link #mergeInto} undone, up to rounding). */
    public void unmergeFrom(LinearLayer layer) {
        writeCombined(layer, true);
    }

    private void writeCombined(LinearLayer layer, boolean subtract) {
        checkShape(new long[] {layer.outFeatures(), layer.inFeatures()}, "linear layer");
        // The updated weight leaves this scope: writeWeight takes it over (a float layer attaches it to
        // its own manager, a quantized one encodes and frees it).
        try (NDManager scope = NDManager.newBaseManager()) {
            NDArray w = layer.readWeight(scope);
            layer.writeWeight(combine(w, subtract));
        }
    }

    /** A forward-time update of a linear layer: this constant delta, scattered per step. */
    public WeightDelta asWeightDelta() {
        checkRank2();
        return step -> dense(step);
    }

    /** The sum of two deltas of the same tensor: indices united, values of shared indices added. */
    public SparseDelta add(SparseDelta other) {
        return plus(other, 1f);
    }

    /** This delta minus another of the same tensor. */
    public SparseDelta subtract(SparseDelta other) {
        return plus(other, -1f);
    }

    /** The delta with every value negated. */
    public SparseDelta negate() {
        float[] v = new float[values.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = -values[i];
        }
        return new SparseDelta(name, shape, indices, v);
    }

    private SparseDelta plus(SparseDelta other, float sign) {
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException("Cannot combine sparse deltas of " + name + " " + Arrays.toString(shape)
                    + " and " + other.name + " " + Arrays.toString(other.shape) + ": shapes differ");
        }
        long[] idx = new long[indices.length + other.indices.length];
        float[] val = new float[idx.length];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < indices.length || j < other.indices.length) {
            if (j >= other.indices.length || (i < indices.length && indices[i] < other.indices[j])) {
                idx[n] = indices[i];
                val[n++] = values[i++];
            } else if (i >= indices.length || other.indices[j] < indices[i]) {
                idx[n] = other.indices[j];
                val[n++] = sign * other.values[j++];
            } else {
                idx[n] = indices[i];
                val[n++] = values[i++] + sign * other.values[j++];
            }
        }
        return new SparseDelta(name, shape, Arrays.copyOf(idx, n), Arrays.copyOf(val, n));
    }

    private void checkRank2() {
        if (shape.length != 2) {
            throw new IllegalStateException("Sparse delta of " + name + " has shape " + Arrays.toString(shape)
                    + "; a linear layer's weight delta must be [out, in]");
        }
    }

    private void checkShape(long[] target, String what) {
        if (!Arrays.equals(shape, target)) {
            throw new IllegalArgumentException("Sparse delta of " + name + " has shape " + Arrays.toString(shape)
                    + " but the " + what + " has shape " + Arrays.toString(target));
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SparseDelta)) {
            return false;
        }
        SparseDelta d = (SparseDelta) o;
        return name.equals(d.name) && Arrays.equals(shape, d.shape) && Arrays.equals(indices, d.indices)
                && Arrays.equals(values, d.values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), Arrays.hashCode(indices), Arrays.hashCode(values));
    }

    @Override
    public String toString() {
        return "SparseDelta[" + name + " " + Arrays.toString(shape) + ", " + indices.length + " entries]";
    }
}

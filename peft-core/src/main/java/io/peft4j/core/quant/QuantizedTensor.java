package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayList;
import java.util.List;

/**
 * A quantized weight: its stored codes ({@code uint8 [(n + 1) / 2, 1]} with two 4-bit codes per byte,
 * the first in the high nibble, as bitsandbytes packs them; {@code int8 [out, in]} for INT8) and the
 * {@link QuantState} to dequantize them. Owns its arrays; {@link #close()} frees them.
 */
public final class QuantizedTensor implements AutoCloseable {
    private final NDArray data;
    private final QuantState state;

    public QuantizedTensor(NDArray data, QuantState state) {
        this.data = data;
        this.state = state;
    }

    public NDArray data() {
        return data;
    }

    public QuantState state() {
        return state;
    }

    public long numel() {
        return state.numel();
    }

    /**
     * Bytes per weight this tensor takes: codes and scales, without the code tables, which
     * bitsandbytes and peft4j share between tensors of a type (a file stores them once per tensor).
     */
    public long storedBytes() {
        long bytes = data.size() * data.getDataType().getNumOfBytes();
        bytes += state.absmax().size() * state.absmax().getDataType().getNumOfBytes();
        if (state.nested() != null) {
            bytes += state.nested().absmax().size() * 4 + 4;
        }
        return bytes;
    }

    /** Every array, for moving them between managers together. */
    List<NDArray> arrays() {
        List<NDArray> out = new ArrayList<>(state.arrays());
        out.add(0, data);
        return out;
    }

    /** Moves every array to {@code manager}, e.g. the model's. */
    public void attach(NDManager manager) {
        arrays().forEach(a -> a.attach(manager));
    }

    /** Lends every array to {@code manager} until it closes, so that work arrays derived from them land there. */
    void tempAttach(NDManager manager) {
        arrays().forEach(a -> a.tempAttach(manager));
    }

    @Override
    public void close() {
        arrays().forEach(NDArray::close);
    }
}

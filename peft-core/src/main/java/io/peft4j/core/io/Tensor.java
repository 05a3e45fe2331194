package io.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A tensor as stored on disk: element type, shape and little-endian bytes. It is the one currency
 * between file formats and NDArrays, so that readers never touch an engine and nothing native is
 * allocated until a caller asks for it.
 */
public final class Tensor {
    /** Elements widened from bfloat16 per chunk: bounds the heap used by the conversion. */
    private static final long BF16_CHUNK_ELEMENTS = 16L * 1024 * 1024;

    private final DType dtype;
    private final long[] shape;
    private final TensorBytes bytes;

    public Tensor(DType dtype, long[] shape, ByteBuffer data) {
        this(dtype, shape, BufferWindows.of(data));
    }

    Tensor(DType dtype, long[] shape, TensorBytes bytes) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long expected = Math.multiplyExact(numel(shape), (long) dtype.byteSize());
        if (bytes.size() != expected) {
            throw new IllegalArgumentException(
                    "Tensor of dtype " + dtype + " and shape " + Arrays.toString(shape)
                            + " needs " + expected + " bytes, got " + bytes.size());
        }
        this.bytes = bytes;
    }

    /**
     * Copies an NDArray's contents (any device) into a host tensor: a snapshot that outlives the
     * array. To write an array to a file without that heap copy, use {@link #view}.
     */
    public static Tensor of(NDArray array) {
        ArrayBytes source = new ArrayBytes(array, ArrayBytes.DEFAULT_CHUNK_BYTES);
        List<ByteBuffer> windows = new ArrayList<>();
        long size = source.size();
        long window = SafeTensors.DEFAULT_WINDOW_BYTES;
        for (long at = 0; at < size || windows.isEmpty(); at += window) {
            windows.add(source.slice(at, (int) Math.min(window, size - at)));
        }
        return new Tensor(DType.of(array.getDataType()), array.getShape().getShape(), new BufferWindows(windows));
    }

    /**
     * A tensor that reads the array only when its bytes are needed (a safetensors write streams them
     * in chunks from native memory), so a checkpoint never holds a second copy of the weights. The
     * array must stay open and unchanged until then: use it for a write that follows at once.
     */
    public static Tensor view(NDArray array) {
        return view(array, ArrayBytes.DEFAULT_CHUNK_BYTES);
    }

    static Tensor view(NDArray array, long chunkBytes) {
        return new Tensor(DType.of(array.getDataType()), array.getShape().getShape(), new ArrayBytes(array, chunkBytes));
    }

    /** A float32 tensor from values in row-major order. */
    public static Tensor ofFloats(float[] values, long... shape) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new Tensor(DType.F32, shape, buf);
    }

    public static long numel(long[] shape) {
        for (long d : shape) {
            if (d == 0) {
                return 0; // an empty tensor, whatever its other dimensions multiply to
            }
        }
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel(shape);
    }

    public long byteSize() {
        return bytes.size();
    }

    /**
     * A read-only little-endian view of all bytes, for tensors of at most 2 GiB (one Java buffer);
     * larger ones are read with {@link #bytes(long, int)} or {@link #toNDArray}.
     */
    public ByteBuffer data() {
        if (byteSize() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(this + " has " + byteSize() + " bytes, more than one Java buffer"
                    + " holds (2 GiB): read it with bytes(offset, length) or toNDArray");
        }
        return bytes.slice(0, (int) byteSize());
    }

    /** {@code length} bytes from byte {@code offset}, read-only and little-endian; works at any size. */
    public ByteBuffer bytes(long offset, int length) {
        return bytes.slice(offset, length);
    }

    /** Streams the bytes to a channel without gathering them in one buffer. */
    void writeTo(WritableByteChannel channel) throws IOException {
        bytes.writeTo(channel);
    }

    /** Creates an NDArray owned by the given manager, copying the bytes into libtorch-owned storage. */
    public NDArray toNDArray(NDManager manager) {
        if (dtype == DType.BF16) {
            // DJL 0.35's PyTorch bridge aborts the whole JVM ("terminate called") on any bfloat16
            // array, so bfloat16 never reaches it: callers convert with toFloat32NDArray.
            throw new UnsupportedOperationException("Tensor of dtype BF16 " + Arrays.toString(shape)
                    + ": DJL 0.35's PyTorch engine cannot hold bfloat16 arrays; use toFloat32NDArray");
        }
        if (bytes instanceof ArrayBytes) {
            NDArray copy = ((ArrayBytes) bytes).array().duplicate();
            copy.attach(manager);
            return copy;
        }
        // libtorch wraps a direct buffer without copying, and ours may be a read-only memory map that
        // an in-place update (an optimizer step) would write into; the copy owns its memory, so its
        // lifetime no longer hangs on a Java buffer and the GC. A tensor over 2 GiB spans several
        // windows: each is wrapped, and one concatenation copies them all into the result.
        List<ByteBuffer> windows = bytes.nativeWindows(SafeTensors.DEFAULT_WINDOW_BYTES);
        try (NDManager scratch = manager.newSubManager()) {
            NDList parts = new NDList();
            for (ByteBuffer w : windows) {
                parts.add(scratch.create(w, new Shape(w.remaining() / dtype.byteSize()), dtype.toDataType()));
            }
            NDArray flat = parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(parts);
            NDArray out = flat.reshape(new Shape(shape));
            out.attach(manager);
            return out;
        }
    }

    /** As {@link #toNDArray}, converted to float32 (the dtype parameters have) when stored otherwise. */
    public NDArray toFloat32NDArray(NDManager manager) {
        return toFloat32NDArray(manager, BF16_CHUNK_ELEMENTS);
    }

    NDArray toFloat32NDArray(NDManager manager, long bf16ChunkElements) {
        return toNDArray(manager, DataType.FLOAT32, bf16ChunkElements);
    }

    /**
     * As {@link #toNDArray}, in {@code target} ({@link DataType#FLOAT32} or {@link DataType#FLOAT16}):
     * the dtype a model holds a weight in, whatever dtype the file stores. Only this tensor is ever
     * converted, straight into native memory, so loading a checkpoint never holds a second copy of it
     * on the Java heap; a bfloat16 tensor never becomes a bfloat16 NDArray (DJL 0.35 aborts on one).
     * Narrowing to float16 rounds to nearest (a value beyond float16's range 65504 becomes infinite).
     */
    public NDArray toNDArray(NDManager manager, DataType target) {
        return toNDArray(manager, target, BF16_CHUNK_ELEMENTS);
    }

    NDArray toNDArray(NDManager manager, DataType target, long bf16ChunkElements) {
        if (target != DataType.FLOAT32 && target != DataType.FLOAT16) {
            throw new IllegalArgumentException(this + ": weights are held in FLOAT32 or FLOAT16, not " + target);
        }
        if (dtype == DType.BF16) {
            return fromBf16(manager, target, bf16ChunkElements);
        }
        NDArray array = toNDArray(manager);
        if (array.getDataType() == target) {
            return array;
        }
        try (NDArray stored = array) {
            return stored.toType(target, false);
        }
    }

    /**
     * bfloat16 is the top half of a float32: widening is a shift, exact for every value. Done a chunk
     * at a time into a preallocated result (a float16 target is narrowed chunk by chunk), so that
     * neither the heap nor an index overflows at any size and at most one chunk exists beside the result.
     */
    private NDArray fromBf16(NDManager manager, DataType target, long chunkElements) {
        long n = numel();
        NDArray out = manager.zeros(new Shape(n), target);
        for (long from = 0; from < n; from += chunkElements) {
            int count = (int) Math.min(chunkElements, n - from);
            ByteBuffer src = bytes.slice(from * 2, count * 2);
            ByteBuffer wide = ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < count; i++) {
                wide.putInt((src.getShort() & 0xFFFF) << 16);
            }
            wide.flip();
            try (NDManager scratch = manager.newSubManager()) {
                NDArray part = scratch.create(wide, new Shape(count), DataType.FLOAT32);
                out.set(new NDIndex("{}:{}", from, from + count), target == DataType.FLOAT32 ? part : part.toType(target, false));
            }
        }
        try (NDArray flat = out) {
            return flat.reshape(new Shape(shape));
        }
    }

    /** Values as floats, for F32 tensors only. */
    public float[] toFloatArray() {
        if (dtype != DType.F32) {
            throw new IllegalStateException("toFloatArray needs an F32 tensor, this one is " + dtype);
        }
        if (numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(this + " has more elements than a Java array holds");
        }
        float[] out = new float[(int) numel()];
        data().asFloatBuffer().get(out);
        return out;
    }

    /** The transpose of a 2-D F32 tensor, e.g. ONNX's {@code [in, out]} MatMul weights to PyTorch's {@code [out, in]}. */
    public Tensor transpose2d() {
        if (dtype != DType.F32 || shape.length != 2) {
            throw new IllegalStateException("transpose2d needs a 2-D F32 tensor, this one is " + this);
        }
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        java.nio.FloatBuffer src = data().asFloatBuffer();
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = src.get(r * cols + c);
            }
        }
        return ofFloats(out, cols, rows);
    }

    /** The single value of a scalar or one-element tensor, as a double. */
    public double scalar() {
        if (numel() != 1) {
            throw new IllegalStateException("scalar() needs one element, this tensor is " + this);
        }
        ByteBuffer b = data();
        switch (dtype) {
            case F32: return b.getFloat();
            case F64: return b.getDouble();
            case I64: return b.getLong();
            case I32: return b.getInt();
            default: throw new IllegalStateException("scalar() does not read " + dtype);
        }
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype + ", " + Arrays.toString(shape) + ")";
    }
}

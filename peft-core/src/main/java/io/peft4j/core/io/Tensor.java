package io.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as stored on disk: element type, shape and little-endian bytes. It is the one currency
 * between file formats and NDArrays, so that readers never touch an engine and nothing native is
 * allocated until a caller asks for it.
 */
public final class Tensor {
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    public Tensor(DType dtype, long[] shape, ByteBuffer data) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long expected = numel(shape) * dtype.byteSize();
        if (data.remaining() != expected) {
            throw new IllegalArgumentException(
                    "Tensor of dtype " + dtype + " and shape " + Arrays.toString(shape)
                            + " needs " + expected + " bytes, got " + data.remaining());
        }
        this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies an NDArray's contents (any device) into a host tensor. */
    public static Tensor of(NDArray array) {
        ByteBuffer bytes = array.toByteBuffer();
        ByteBuffer copy = ByteBuffer.allocate(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(bytes.order(ByteOrder.nativeOrder()));
        copy.flip();
        return new Tensor(DType.of(array.getDataType()), array.getShape().getShape(), copy);
    }

    /** A float32 tensor from values in row-major order. */
    public static Tensor ofFloats(float[] values, long... shape) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new Tensor(DType.F32, shape, buf);
    }

    public static long numel(long[] shape) {
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
        return data.remaining();
    }

    /** A read-only little-endian view of the bytes. */
    public ByteBuffer data() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Creates an NDArray owned by the given manager, copying the bytes into libtorch-owned storage. */
    public NDArray toNDArray(NDManager manager) {
        if (dtype == DType.BF16) {
            // DJL 0.35's PyTorch bridge aborts the whole JVM ("terminate called") on any bfloat16
            // array, so bfloat16 never reaches it: callers convert with toFloat32NDArray.
            throw new UnsupportedOperationException("Tensor of dtype BF16 " + Arrays.toString(shape)
                    + ": DJL 0.35's PyTorch engine cannot hold bfloat16 arrays; use toFloat32NDArray");
        }
        // libtorch wraps a direct buffer without copying, and ours may be a read-only memory map that
        // an in-place update (an optimizer step) would write into; the clone owns its memory, so its
        // lifetime no longer hangs on a Java buffer and the GC.
        try (NDArray view = manager.create(data(), new Shape(shape), dtype.toDataType())) {
            return view.duplicate();
        }
    }

    /** As {@link #toNDArray}, converted to float32 (the dtype parameters have) when stored otherwise. */
    public NDArray toFloat32NDArray(NDManager manager) {
        if (dtype == DType.BF16) {
            return bf16ToFloat32().toNDArray(manager);
        }
        NDArray array = toNDArray(manager);
        if (array.getDataType() == DataType.FLOAT32) {
            return array;
        }
        try (NDArray stored = array) {
            return stored.toType(DataType.FLOAT32, false);
        }
    }

    /** bfloat16 is the top half of a float32: widening is a shift, exact for every value. */
    private Tensor bf16ToFloat32() {
        ByteBuffer src = data();
        int n = Math.toIntExact(numel());
        ByteBuffer out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            out.putInt((src.getShort() & 0xFFFF) << 16);
        }
        out.flip();
        return new Tensor(DType.F32, shape, out);
    }

    /** Values as floats, for F32 tensors only. */
    public float[] toFloatArray() {
        if (dtype != DType.F32) {
            throw new IllegalStateException("toFloatArray needs an F32 tensor, this one is " + dtype);
        }
        float[] out = new float[Math.toIntExact(numel())];
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

package io.peft4j.core.ops;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;

import io.peft4j.core.Compute;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tensor operations DJL 0.35 lacks, run in libtorch and differentiable where PyTorch's are:
 * <ul>
 *   <li>{@link #castDifferentiable}: a dtype cast autograd sees through ({@link NDArray#toType} runs
 *       under no-grad, so a gradient stops at it);</li>
 *   <li>{@link #bf16BitsToFloat32}, {@link #bf16BytesToFloat32} and {@link #float32ToBf16Bits}: bfloat16
 *       values carried as their 16 bits in an {@link DataType#INT32} array (or as raw bytes), because DJL aborts the JVM on any bfloat16 array (its JNI
 *       maps no dtype past {@link DataType#COMPLEX64});</li>
 *   <li>{@link #scaledDotProductAttention}: PyTorch's fused attention
 *       ({@code torch.nn.functional.scaled_dot_product_attention}).</li>
 * </ul>
 *
 * <p>Each op is a small TorchScript module shipped as a resource under {@code io/peft4j/ops/} and
 * written by {@code peft-core/src/main/python/build_native_ops.py}. It is loaded once per process, on
 * first use, and kept for the life of the process (the modules hold at most a 256 KB table); calls are
 * thread-safe. As with DJL's own operators, a result belongs to the manager of the op's first argument.
 */
public final class NativeOps {
    private static final String RESOURCE_DIR = "/io/peft4j/ops/";
    private static final Map<String, PtSymbolBlock> LOADED = new ConcurrentHashMap<>();

    private NativeOps() {}

    /**
     * {@code x} converted to {@code to} ({@link DataType#FLOAT16} or {@link DataType#FLOAT32}), recorded
     * by autograd: the gradient of the result flows back to {@code x}, converted to {@code x}'s dtype.
     * Returns {@code x} itself when it already has that dtype.
     */
    public static NDArray castDifferentiable(NDArray x, DataType to) {
        if (x.getDataType() == to) {
            return x;
        }
        requireFloating("castDifferentiable", "x", x);
        switch (to) {
            case FLOAT16:
                return call("cast_float16.pt", x);
            case FLOAT32:
                return call("cast_float32.pt", x);
            default:
                throw new IllegalArgumentException("castDifferentiable supports FLOAT16 and FLOAT32 targets, not " + to.name());
        }
    }

    /**
     * The float32 values of bfloat16 numbers given by their bits: the low 16 bits of each element of an
     * {@link DataType#INT32} array (0..65535, or the same bits sign-extended). Every bit is kept, NaN
     * payloads included: the result's bits are the input's shifted left by 16. Not differentiable.
     */
    public static NDArray bf16BitsToFloat32(NDArray bits) {
        if (bits.getDataType() != DataType.INT32) {
            throw new IllegalArgumentException("bf16BitsToFloat32 needs the bfloat16 bits in an INT32 array, got "
                    + bits.getDataType().name() + " of shape " + bits.getShape());
        }
        return call("bf16_bits_to_float32.pt", bits);
    }

    /**
     * The float32 values of bfloat16 numbers stored as raw little-endian bytes, as safetensors stores
     * them: a {@link DataType#UINT8} array whose last dimension holds {@code 2n} bytes becomes a float32
     * array whose last dimension holds {@code n} values. Every bit is kept. Not differentiable.
     */
    public static NDArray bf16BytesToFloat32(NDArray bytes) {
        Shape s = bytes.getShape();
        if (bytes.getDataType() != DataType.UINT8 || s.dimension() == 0 || s.tail() % 2 != 0) {
            throw new IllegalArgumentException("bf16BytesToFloat32 needs UINT8 bytes whose last dimension holds an even "
                    + "number of bytes (2 per value), got " + bytes.getDataType().name() + " of shape " + s);
        }
        return call("bf16_bits_to_float32.pt", bytes);
    }

    /**
     * The bfloat16 bits (0..65535 in an {@link DataType#INT32} array) of {@code x} rounded as PyTorch's
     * {@code x.to(torch.bfloat16)} rounds: to nearest, ties to even, every NaN to {@code 0x7FC0}. Other
     * floating dtypes are converted to float32 first. Not differentiable.
     */
    public static NDArray float32ToBf16Bits(NDArray x) {
        requireFloating("float32ToBf16Bits", "x", x);
        return call("float32_to_bf16_bits.pt", x);
    }

    /**
     * {@code softmax(q k^T / sqrt(E) + mask) v} as PyTorch's {@code scaled_dot_product_attention}
     * computes it (fused where libtorch has a kernel), differentiable in {@code q}, {@code k} and {@code v}.
     *
     * @param q queries {@code [..., L, E]}
     * @param k keys {@code [..., S, E]}, same leading dimensions as {@code q} (or broadcastable)
     * @param v values {@code [..., S, Ev]}
     * @param mask null, or broadcastable to {@code [..., L, S]}: {@link DataType#BOOLEAN} where true means
     *     "may attend", or a float mask of {@code q}'s dtype added to the scores ({@code -inf} blocks)
     * @param isCausal when true query {@code i} attends to keys {@code 0..i} only (PyTorch's top-left
     *     aligned triangle), combined with {@code mask} when both are given
     * @return {@code [..., L, Ev]} in {@code q}'s dtype and manager; a row whose keys are all blocked is
     *     whatever PyTorch gives for it
     */
    public static NDArray scaledDotProductAttention(NDArray q, NDArray k, NDArray v, NDArray mask, boolean isCausal) {
        checkAttention(q, k, v, mask);
        if (mask == null) {
            return call(isCausal ? "attention_causal.pt" : "attention.pt", q, k, v);
        }
        return call(isCausal ? "attention_masked_causal.pt" : "attention_masked.pt", q, k, v, mask);
    }

    private static void checkAttention(NDArray q, NDArray k, NDArray v, NDArray mask) {
        Shape qs = q.getShape();
        Shape ks = k.getShape();
        Shape vs = v.getShape();
        if (qs.dimension() < 2 || ks.dimension() < 2 || vs.dimension() < 2) {
            throw new IllegalArgumentException("scaledDotProductAttention needs q [..., L, E], k [..., S, E] and "
                    + "v [..., S, Ev]; got q " + qs + ", k " + ks + ", v " + vs);
        }
        if (qs.tail() != ks.tail()) {
            throw new IllegalArgumentException("scaledDotProductAttention: q's last dimension " + qs.tail()
                    + " differs from k's " + ks.tail() + " (q " + qs + ", k " + ks + ")");
        }
        if (ks.get(ks.dimension() - 2) != vs.get(vs.dimension() - 2)) {
            throw new IllegalArgumentException("scaledDotProductAttention: k has " + ks.get(ks.dimension() - 2)
                    + " keys but v has " + vs.get(vs.dimension() - 2) + " values (k " + ks + ", v " + vs + ")");
        }
        requireFloating("scaledDotProductAttention", "q", q);
        if (k.getDataType() != q.getDataType() || v.getDataType() != q.getDataType()) {
            throw new IllegalArgumentException("scaledDotProductAttention: q, k and v must share a dtype; got "
                    + q.getDataType().name() + ", " + k.getDataType().name() + ", " + v.getDataType().name());
        }
        if (mask != null && mask.getDataType() != DataType.BOOLEAN && mask.getDataType() != q.getDataType()) {
            throw new IllegalArgumentException("scaledDotProductAttention: the mask must be BOOLEAN or "
                    + q.getDataType().name() + " (q's dtype), got " + mask.getDataType().name());
        }
    }

    private static void requireFloating(String op, String what, NDArray x) {
        DataType t = x.getDataType();
        if (t != DataType.FLOAT16 && t != DataType.FLOAT32 && t != DataType.FLOAT64) {
            throw new IllegalArgumentException(op + ": " + what + " must be FLOAT16, FLOAT32 or FLOAT64, got " + t.name()
                    + " of shape " + x.getShape());
        }
    }

    /**
     * Runs one op's module with autograd on. DJL reads meaning into input names ("a.b" becomes a dict
     * entry, "x[]" a list, "module_method:m" a method choice), so the names are cleared for the call and
     * put back after it.
     */
    private static NDArray call(String op, NDArray... inputs) {
        PtSymbolBlock module = LOADED.computeIfAbsent(op, NativeOps::load);
        for (int i = 0; i < inputs.length; i++) {
            if (!(inputs[i] instanceof PtNDArray)) {
                throw new IllegalArgumentException(op + " runs on the PyTorch engine; argument " + i + " is a "
                        + inputs[i].getClass().getName());
            }
        }
        String[] names = new String[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            names[i] = inputs[i].getName();
            inputs[i].setName(null);
        }
        try {
            // training = true: DJL's inference call would switch autograd off inside the module.
            return IValueUtils.forward(module, new NDList(inputs), true).singletonOrThrow();
        } finally {
            // In reverse, so that an array passed twice (q = k = v) ends with the name it came with.
            for (int i = inputs.length - 1; i >= 0; i--) {
                inputs[i].setName(names[i]);
            }
        }
    }

    private static PtSymbolBlock load(String op) {
        String resource = RESOURCE_DIR + op;
        try (InputStream in = NativeOps.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("The native op resource " + resource + " is not on the classpath; "
                        + "it ships in peft-core's jar (rebuild it with peft-core/src/main/python/build_native_ops.py)");
            }
            return JniUtils.loadModule((PtNDManager) Holder.MANAGER, in, true, false);
        } catch (IOException | EngineException e) {
            throw new IllegalStateException("Could not load the native op resource " + resource + " into libtorch "
                    + "(was it written by a torch newer than the engine's libtorch?): " + e.getMessage(), e);
        }
    }

    /** The process-wide manager owning the loaded modules; created on first use and never closed. */
    private static final class Holder {
        static final NDManager MANAGER = Compute.newManager();
    }
}

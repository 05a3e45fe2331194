package io.peft4j.sparse;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.tuner.HfKeys;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Sparse deltas in an adapter directory: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} holding, per tensor, {@code <key>.sft_delta.indices} (int32, or
 * int64 for tensors of 2^31 elements or more) and {@code <key>.sft_delta.values} (float32), the keys
 * the reference SpIEL implementation (AlanAnsell/peft, {@code tuners/sft}) writes: a weight's delta
 * under its module ({@code base_model.model.<module>.sft_delta.values}), and a bias's under the bias
 * ({@code base_model.model.<module>.bias.sft_delta.values}). Other tensors (dense heads) may sit
 * beside them under their own keys.
 */
public final class SparseDeltaFiles {
    public static final String INDICES = ".sft_delta.indices";
    public static final String VALUES = ".sft_delta.values";

    private SparseDeltaFiles() {}

    /** The saved key prefix of a parameter's delta: {@code base_model.model.} + module for a weight, + bias for a bias. */
    public static String keyPrefix(String parameterName) {
        if (parameterName.endsWith(".weight")) {
            return HfKeys.saved(parameterName.substring(0, parameterName.length() - ".weight".length()));
        }
        if (parameterName.endsWith(".bias")) {
            return HfKeys.saved(parameterName);
        }
        throw new IllegalArgumentException("Sparse delta of " + parameterName
                + ": only parameters named '<module>.weight' or '<module>.bias' can be saved");
    }

    /** The parameter a saved key prefix belongs to; the inverse of {@link #keyPrefix}. */
    public static String parameterName(String keyPrefix) {
        String tree = HfKeys.treeName(keyPrefix);
        return tree.endsWith(".bias") ? tree : tree + ".weight";
    }

    /** True for the keys of sparse deltas. */
    public static boolean isDeltaKey(String key) {
        return key.endsWith(INDICES) || key.endsWith(VALUES);
    }

    /** Each delta's two tensors under its saved keys, in the order given. */
    public static Map<String, Tensor> toTensors(Collection<SparseDelta> deltas) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (SparseDelta d : deltas) {
            String prefix = keyPrefix(d.name());
            if (out.containsKey(prefix + VALUES)) {
                throw new IllegalArgumentException("Two sparse deltas of " + d.name());
            }
            out.put(prefix + INDICES, indexTensor(d.indices(), d.indexType()));
            out.put(prefix + VALUES, Tensor.ofFloats(d.values(), d.size()));
        }
        return out;
    }

    /**
     * The deltas among saved tensors, by parameter name; keys that are not deltas are ignored.
     * {@code shapeOf} gives a parameter's shape (the model's), or null when the model has no such
     * parameter. Every problem (a half pair, wrong dtypes or lengths, an unknown parameter, indices
     * out of range) is reported in one exception naming the keys.
     */
    public static Map<String, SparseDelta> fromTensors(Map<String, Tensor> tensors, Function<String, long[]> shapeOf) {
        List<String> problems = new ArrayList<>();
        Map<String, SparseDelta> out = new TreeMap<>();
        for (String key : new TreeMap<>(tensors).keySet()) {
            if (!key.endsWith(VALUES)) {
                if (key.endsWith(INDICES) && !tensors.containsKey(prefixOf(key, INDICES) + VALUES)) {
                    problems.add(key + " has no " + VALUES + " beside it");
                }
                continue;
            }
            String prefix = prefixOf(key, VALUES);
            Tensor values = tensors.get(key);
            Tensor indices = tensors.get(prefix + INDICES);
            String param = parameterName(prefix);
            long[] shape = shapeOf.apply(param);
            if (indices == null) {
                problems.add(key + " has no " + INDICES + " beside it");
            } else if (shape == null) {
                problems.add(key + ": the model has no parameter " + param);
            } else if (values.dtype() != DType.F32) {
                problems.add(key + " is " + values.dtype() + ", expected F32");
            } else if (indices.dtype() != DType.I32 && indices.dtype() != DType.I64) {
                problems.add(prefix + INDICES + " is " + indices.dtype() + ", expected I32 or I64");
            } else if (values.shape().length != 1 || !Arrays.equals(values.shape(), indices.shape())) {
                problems.add(prefix + ": indices " + Arrays.toString(indices.shape()) + " and values "
                        + Arrays.toString(values.shape()) + " must be one-dimensional and of one length");
            } else {
                try {
                    out.put(param, SparseDelta.of(param, shape, readIndices(indices), values.toFloatArray()));
                } catch (IllegalArgumentException e) {
                    problems.add(prefix + ": " + e.getMessage());
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Bad sparse delta tensors: " + String.join("; ", problems));
        }
        return out;
    }

    /** Writes the config and the deltas (plus {@code dense} tensors under their own keys) into {@code dir}, atomically per file. */
    public static void write(Path dir, ObjectNode config, Collection<SparseDelta> deltas, Map<String, Tensor> dense)
            throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>(toTensors(deltas));
        for (Map.Entry<String, Tensor> e : dense.entrySet()) {
            if (all.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("Tensor key " + e.getKey() + " is both a sparse delta and a dense tensor");
            }
        }
        AdapterFiles.write(dir, config, all);
    }

    /** The deltas in {@code dir}'s {@code adapter_model.safetensors}, shaped by {@code shapeOf} (see {@link #fromTensors}). */
    public static Map<String, SparseDelta> read(Path dir, Function<String, long[]> shapeOf) throws IOException {
        try {
            return fromTensors(AdapterFiles.readTensors(dir), shapeOf);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS_FILE) + ": " + e.getMessage(), e);
        }
    }

    private static String prefixOf(String key, String suffix) {
        return key.substring(0, key.length() - suffix.length());
    }

    static Tensor indexTensor(long[] indices, DType type) {
        ByteBuffer buf = ByteBuffer.allocate(indices.length * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (long i : indices) {
            if (type == DType.I32) {
                buf.putInt(Math.toIntExact(i));
            } else {
                buf.putLong(i);
            }
        }
        buf.flip();
        return new Tensor(type, new long[] {indices.length}, buf);
    }

    private static long[] readIndices(Tensor t) {
        long[] out = new long[Math.toIntExact(t.numel())];
        ByteBuffer b = t.data();
        if (t.dtype() == DType.I64) {
            b.asLongBuffer().get(out);
        } else {
            java.nio.IntBuffer ints = b.asIntBuffer();
            for (int i = 0; i < out.length; i++) {
                out[i] = ints.get(i);
            }
        }
        return out;
    }
}

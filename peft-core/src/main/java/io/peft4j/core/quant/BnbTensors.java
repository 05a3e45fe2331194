package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A quantized weight as bitsandbytes serializes it into a state dict ({@code QuantState.as_dict(packed=True)}
 * under the weight's key), so that files move between peft4j and transformers' "bnb-4bit" checkpoints:
 * <ul>
 * <li>{@code <w>}: uint8 {@code [(n + 1) / 2, 1]}, two codes per byte, the first in the high nibble;
 * <li>{@code <w>.absmax}: float32 per block, or uint8 codes with double quantization;
 * <li>{@code <w>.quant_map}: the 16 float32 code values;
 * <li>{@code <w>.nested_absmax}, {@code <w>.nested_quant_map}: double quantization's float32 scales
 * and its 256-value map;
 * <li>{@code <w>.quant_state.bitsandbytes__nf4} (or {@code __fp4}): uint8 bytes of a UTF-8 JSON object
 * with {@code quant_type}, {@code blocksize}, {@code dtype}, {@code shape} and, when nested,
 * {@code nested_blocksize}, {@code nested_dtype}, {@code nested_offset}.
 * </ul>
 * INT8 weights follow {@code Linear8bitLt}: {@code <module>.weight} int8 {@code [out, in]},
 * {@code <module>.SCB} float32 row scales and {@code <module>.weight_format} (uint8 0, row-major).
 */
public final class BnbTensors {
    static final String PACKED_STATE = ".quant_state.bitsandbytes__";
    private static final ObjectMapper JSON = new ObjectMapper();

    private BnbTensors() {}

    /** The tensors of one quantized weight under {@code weightKey} (e.g. {@code encoder.layer.0.attention.self.query.weight}). */
    public static Map<String, Tensor> write(String weightKey, QuantizedTensor q) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        QuantState s = q.state();
        if (s.type() == QuantType.INT8) {
            String module = moduleOf(weightKey);
            out.put(weightKey, Tensor.of(q.data()));
            out.put(module + ".SCB", Tensor.of(s.absmax()));
            out.put(module + ".weight_format", new Tensor(DType.U8, new long[0], ByteBuffer.wrap(new byte[] {0})));
            return out;
        }
        out.put(weightKey, Tensor.of(q.data()));
        out.put(weightKey + ".absmax", Tensor.of(s.absmax()));
        out.put(weightKey + ".quant_map", Tensor.of(s.code()));
        ObjectNode meta = JSON.createObjectNode();
        meta.put("quant_type", s.type().bnbName());
        meta.put("blocksize", s.blockSize());
        meta.put("dtype", s.dtype());
        ArrayNode shape = meta.putArray("shape");
        for (long d : s.shape()) {
            shape.add(d);
        }
        if (s.nested() != null) {
            out.put(weightKey + ".nested_absmax", Tensor.of(s.nested().absmax()));
            out.put(weightKey + ".nested_quant_map", Tensor.of(s.nested().code()));
            meta.put("nested_blocksize", s.nested().blockSize());
            meta.put("nested_dtype", "float32");
            // bitsandbytes writes offset.item(): the float32 value as a Python float.
            meta.put("nested_offset", (double) s.nested().offset());
        }
        byte[] json = meta.toString().getBytes(StandardCharsets.UTF_8);
        out.put(weightKey + PACKED_STATE + s.type().bnbName(), new Tensor(DType.U8, new long[] {json.length}, ByteBuffer.wrap(json)));
        return out;
    }

    /** The keys of {@code tensors} that are quantized weights (4-bit with a packed quant state, or INT8 with SCB). */
    public static List<String> quantizedWeightKeys(Map<String, Tensor> tensors) {
        List<String> out = new ArrayList<>();
        for (String k : tensors.keySet()) {
            int at = k.indexOf(PACKED_STATE);
            if (at > 0) {
                out.add(k.substring(0, at));
            } else if (k.endsWith(".SCB")) {
                out.add(moduleOf(k) + ".weight");
            }
        }
        return out;
    }

    /** Every key that belongs to the quantized weight {@code weightKey}. */
    public static List<String> keysOf(String weightKey, Map<String, Tensor> tensors) {
        List<String> out = new ArrayList<>();
        String module = moduleOf(weightKey);
        for (String k : tensors.keySet()) {
            if (k.equals(weightKey) || k.startsWith(weightKey + ".") || k.equals(module + ".SCB")
                    || k.equals(module + ".weight_format")) {
                out.add(k);
            }
        }
        return out;
    }

    /**
     * Reads the quantized weight under {@code weightKey}, checking every tensor's dtype and shape
     * against the quant state before creating any array; errors name {@code source} and the tensor.
     */
    public static QuantizedTensor read(Map<String, Tensor> tensors, String weightKey, NDManager manager, String source) {
        Tensor data = require(tensors, weightKey, source);
        String module = moduleOf(weightKey);
        if (tensors.containsKey(module + ".SCB")) {
            return readInt8(tensors, weightKey, data, require(tensors, module + ".SCB", source), manager, source);
        }
        String stateKey = null;
        for (String k : tensors.keySet()) {
            if (k.startsWith(weightKey + PACKED_STATE)) {
                if (stateKey != null) {
                    throw bad(source, weightKey, "has two packed quant states: " + stateKey + " and " + k);
                }
                stateKey = k;
            }
        }
        if (stateKey == null) {
            throw bad(source, weightKey, "has no '" + weightKey + PACKED_STATE + "nf4' (or __fp4) tensor");
        }
        JsonNode meta = parseState(tensors.get(stateKey), stateKey, source);
        String typeName = text(meta, "quant_type", stateKey, source);
        QuantType type;
        try {
            type = QuantType.ofBnbName(typeName);
        } catch (IllegalArgumentException e) {
            throw bad(source, stateKey, e.getMessage());
        }
        if (!stateKey.endsWith("__" + typeName)) {
            throw bad(source, stateKey, "says quant_type '" + typeName + "' but its key names another type");
        }
        int blockSize = integer(meta, "blocksize", stateKey, source);
        if (blockSize <= 0) {
            throw bad(source, stateKey, "blocksize must be positive, got " + blockSize);
        }
        JsonNode shapeNode = meta.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw bad(source, stateKey, "has no 'shape' list");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
        }
        long n = Tensor.numel(shape);
        long blocks = (n + blockSize - 1) / blockSize;
        checkTensor(data, weightKey, DType.U8, (n + 1) / 2, source);
        boolean nested = tensors.containsKey(weightKey + ".nested_absmax");
        Tensor absmax = require(tensors, weightKey + ".absmax", source);
        checkTensor(absmax, weightKey + ".absmax", nested ? DType.U8 : DType.F32, blocks, source);
        Tensor quantMap = require(tensors, weightKey + ".quant_map", source);
        checkTensor(quantMap, weightKey + ".quant_map", DType.F32, 16, source);
        Tensor nestedAbsmax = null;
        Tensor nestedMap = null;
        int nestedBlock = 0;
        float offset = 0;
        if (nested) {
            nestedBlock = integer(meta, "nested_blocksize", stateKey, source);
            if (nestedBlock <= 0) {
                throw bad(source, stateKey, "nested_blocksize must be positive, got " + nestedBlock);
            }
            JsonNode off = meta.get("nested_offset");
            if (off == null || !off.isNumber()) {
                throw bad(source, stateKey, "has nested tensors but no numeric 'nested_offset'");
            }
            offset = (float) off.asDouble();
            nestedAbsmax = tensors.get(weightKey + ".nested_absmax");
            checkTensor(nestedAbsmax, weightKey + ".nested_absmax", DType.F32, (blocks + nestedBlock - 1) / nestedBlock, source);
            nestedMap = require(tensors, weightKey + ".nested_quant_map", source);
            checkTensor(nestedMap, weightKey + ".nested_quant_map", DType.F32, 256, source);
        }
        String dtype = meta.has("dtype") ? meta.get("dtype").asText() : "float32";
        NDArray packed = data.toNDArray(manager);
        QuantState.Nested nest = nested
                ? new QuantState.Nested(nestedAbsmax.toNDArray(manager), nestedMap.toNDArray(manager), nestedBlock, offset)
                : null;
        QuantState state = new QuantState(type, blockSize, shape, dtype, absmax.toNDArray(manager), quantMap.toNDArray(manager), nest);
        return new QuantizedTensor(packed.reshape(-1, 1), state);
    }

    /**
     * The dense {@code [out, in]} shape of the quantized weight under {@code weightKey}, as its quant
     * state (or, for INT8, its data) declares it, read without creating any array: for checking a
     * checkpoint against its config before a model is built. Errors name {@code source} and the tensor.
     */
    public static long[] denseShape(Map<String, Tensor> tensors, String weightKey, String source) {
        Tensor data = require(tensors, weightKey, source);
        if (tensors.containsKey(moduleOf(weightKey) + ".SCB")) {
            return data.shape();
        }
        for (String k : tensors.keySet()) {
            if (k.startsWith(weightKey + PACKED_STATE)) {
                JsonNode shapeNode = parseState(tensors.get(k), k, source).get("shape");
                if (shapeNode == null || !shapeNode.isArray()) {
                    throw bad(source, k, "has no 'shape' list");
                }
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                }
                return shape;
            }
        }
        throw bad(source, weightKey, "has no '" + weightKey + PACKED_STATE + "nf4' (or __fp4) tensor");
    }

    private static QuantizedTensor readInt8(Map<String, Tensor> tensors, String weightKey, Tensor data, Tensor scb,
            NDManager manager, String source) {
        long[] shape = data.shape();
        if (data.dtype() != DType.I8 || shape.length != 2) {
            throw bad(source, weightKey, "an INT8 weight (it has SCB) must be int8 [out, in], got " + data);
        }
        checkTensor(scb, moduleOf(weightKey) + ".SCB", DType.F32, shape[0], source);
        QuantState state = new QuantState(QuantType.INT8, (int) shape[1], shape, "float16", scb.toNDArray(manager), null, null);
        return new QuantizedTensor(data.toNDArray(manager), state);
    }

    private static JsonNode parseState(Tensor t, String key, String source) {
        if (t.dtype() != DType.U8 || t.shape().length != 1) {
            throw bad(source, key, "must be a 1-D uint8 tensor of JSON bytes, got " + t);
        }
        ByteBuffer b = t.data();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        try {
            JsonNode node = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
            if (node == null || !node.isObject()) {
                throw bad(source, key, "does not hold a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw bad(source, key, "does not hold valid JSON: " + e.getOriginalMessage());
        }
    }

    private static String text(JsonNode meta, String field, String key, String source) {
        JsonNode v = meta.get(field);
        if (v == null || !v.isTextual()) {
            throw bad(source, key, "has no text field '" + field + "'");
        }
        return v.asText();
    }

    private static int integer(JsonNode meta, String field, String key, String source) {
        JsonNode v = meta.get(field);
        if (v == null || !v.canConvertToInt()) {
            throw bad(source, key, "has no integer field '" + field + "'");
        }
        return v.asInt();
    }

    private static Tensor require(Map<String, Tensor> tensors, String key, String source) {
        Tensor t = tensors.get(key);
        if (t == null) {
            throw new IllegalArgumentException(source + ": missing tensor '" + key + "' of a quantized weight");
        }
        return t;
    }

    private static void checkTensor(Tensor t, String key, DType dtype, long numel, String source) {
        if (t.dtype() != dtype || t.numel() != numel) {
            throw bad(source, key, "must be " + dtype + " with " + numel + " elements, got " + t.dtype() + " "
                    + Arrays.toString(t.shape()));
        }
    }

    private static IllegalArgumentException bad(String source, String key, String problem) {
        return new IllegalArgumentException(source + ": tensor '" + key + "' " + problem);
    }

    private static String moduleOf(String key) {
        int dot = key.lastIndexOf('.');
        return dot < 0 ? "" : key.substring(0, dot);
    }

}

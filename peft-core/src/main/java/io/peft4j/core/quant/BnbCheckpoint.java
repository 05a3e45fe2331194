package io.peft4j.core.quant;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;
import io.peft4j.core.tuner.ConfigJson;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.djl.nn.Parameter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole model with quantized layers as a state dict in bitsandbytes' layout ({@link BnbTensors}),
 * and the reverse: building quantized layers from such a state dict, e.g. a transformers
 * "bnb-4bit" checkpoint, so that the float32 weights never need to exist.
 */
public final class BnbCheckpoint {
    private static final Logger LOG = LoggerFactory.getLogger(BnbCheckpoint.class);

    private BnbCheckpoint() {}

    /**
     * The 4-bit quantization a transformers {@code config.json} declares in its {@code quantization_config}
     * (bitsandbytes' {@code BitsAndBytesConfig}), or null when it has none. What peft4j cannot honour is
     * an error naming the file and the field: another {@code quant_method} (GPTQ, AWQ, ...), 8-bit
     * (LLM.int8() splits outlier features into a float16 matmul, which peft4j's INT8 does not, so the
     * model would not compute what its users get), or a {@code bnb_4bit_quant_type} other than nf4 and
     * fp4. {@code bnb_4bit_compute_dtype} is read but peft4j computes in float32 (bfloat16 cannot exist
     * in DJL 0.35, and float32 is the fast dtype on CPUs).
     */
    public static QuantizationConfig fromConfigJson(JsonNode config, Path configJson) {
        JsonNode q = config == null ? null : config.get("quantization_config");
        if (q == null || q.isNull()) {
            return null;
        }
        String where = configJson + ": quantization_config";
        if (!q.isObject()) {
            throw new IllegalArgumentException(where + " must be an object, got " + q);
        }
        ConfigJson j = ConfigJson.of(q, where);
        String method = j.text("quant_method");
        if (method != null && !method.equals("bitsandbytes")) {
            throw new IllegalArgumentException(where + ".quant_method '" + method + "' is not supported; peft4j loads "
                    + "bitsandbytes 4-bit checkpoints only");
        }
        if (j.boolField("load_in_8bit", false)) {
            throw new IllegalArgumentException(where + ".load_in_8bit is true: bitsandbytes 8-bit (LLM.int8()) checkpoints "
                    + "are not supported; peft4j loads 4-bit (load_in_4bit, nf4 or fp4) checkpoints");
        }
        if (!j.boolField("load_in_4bit", false)) {
            throw new IllegalArgumentException(where + " has neither load_in_4bit nor load_in_8bit true: nothing says how "
                    + "the weights are quantized");
        }
        String type = j.text("bnb_4bit_quant_type");
        QuantType quantType;
        try {
            quantType = QuantType.ofBnbName(type == null ? "fp4" : type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ".bnb_4bit_quant_type: " + e.getMessage(), e);
        }
        String compute = j.text("bnb_4bit_compute_dtype");
        if (compute != null && !compute.equals("float32")) {
            LOG.info("{}.bnb_4bit_compute_dtype is {}: peft4j dequantizes and multiplies in float32", where, compute);
        }
        List<String> skip = j.stringList("llm_int8_skip_modules");
        return QuantizationConfig.builder().type(quantType).doubleQuant(j.boolField("bnb_4bit_use_double_quant", false))
                .skipModules(skip == null ? List.of() : skip).build();
    }

    /** Every weight of the model under {@code prefix}: float32 parameters and quantized layers' tensors. */
    public static Map<String, Tensor> stateDict(ModuleTree tree, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : tree.namedModules().entrySet()) {
            String path = e.getKey().isEmpty() ? "" : e.getKey() + ".";
            if (e.getValue() instanceof QuantizedLinear) {
                QuantizedLinear q = (QuantizedLinear) e.getValue();
                out.putAll(BnbTensors.write(prefix + path + "weight", q.quantizedWeight()));
            }
            for (Map.Entry<String, Parameter> p : e.getValue().parameters().entrySet()) {
                out.put(prefix + path + p.getKey(), Tensor.of(p.getValue().getArray()));
            }
        }
        return out;
    }

    /** Writes {@link #stateDict} to one safetensors file (atomically). */
    public static void save(ModuleTree tree, String prefix, Path file) throws IOException {
        SafeTensors.write(file, stateDict(tree, prefix), Map.of("format", "pt"));
    }

    /**
     * Replaces each {@link Linear} that {@code weights} hold quantized (names relative to
     * {@code prefix}) by a {@link QuantizedLinear} made from those tensors, and returns the other
     * tensors for the ordinary loader. Everything is read and checked first: on any error the model
     * is left as it was.
     */
    public static Map<String, Tensor> install(ModuleTree tree, Map<String, Tensor> weights, String prefix, String source,
            ai.djl.ndarray.types.DataType computeDType) {
        List<String> keys = BnbTensors.quantizedWeightKeys(weights);
        if (keys.isEmpty()) {
            return weights;
        }
        Map<String, Tensor> rest = new LinkedHashMap<>(weights);
        Map<String, QuantizedLinear> built = new LinkedHashMap<>();
        try {
            for (String key : keys) {
                String module = prefix + key.substring(0, key.length() - ".weight".length());
                Module m = tree.hasModule(module) ? tree.module(module) : null;
                if (!(m instanceof Linear)) {
                    throw new IllegalArgumentException(source + ": tensor '" + key + "' is a quantized weight but '" + module
                            + "' is " + (m == null ? "not a module of the model" : "a " + m + ", not a linear layer"));
                }
                Linear linear = (Linear) m;
                QuantizedTensor q = BnbTensors.read(weights, key, tree.manager(), source);
                long[] shape = q.state().shape();
                if (shape.length != 2 || shape[0] != linear.outFeatures() || shape[1] != linear.inFeatures()) {
                    q.close();
                    throw new IllegalArgumentException(source + ": quantized weight '" + key + "' has shape "
                            + java.util.Arrays.toString(shape) + " but '" + module + "' is [" + linear.outFeatures() + ", "
                            + linear.inFeatures() + "]");
                }
                QuantState s = q.state();
                QuantizationConfig config = QuantizationConfig.builder().type(s.type())
                        .blockSize(s.type().isFourBit() ? s.blockSize() : 64).doubleQuant(s.nested() != null)
                        .computeDType(computeDType).build();
                built.put(module, QuantizedLinear.of(q, linear.hasBias(), config));
                BnbTensors.keysOf(key, weights).forEach(rest::remove);
            }
        } catch (RuntimeException e) {
            built.values().forEach(QuantizedLinear::closeWeight);
            throw e;
        }
        for (Map.Entry<String, QuantizedLinear> e : built.entrySet()) {
            Module old = tree.replaceModule(e.getKey(), e.getValue());
            old.parameters().values().forEach(Parameter::close);
        }
        return rest;
    }

}

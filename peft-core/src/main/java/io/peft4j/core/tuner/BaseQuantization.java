package io.peft4j.core.tuner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.djl.ndarray.types.DataType;

import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;

import java.util.List;

/**
 * How the base an adapter was trained on was quantized, recorded beside the adapter as transformers
 * records {@code quantization_config} in a quantized model's {@code config.json}: bitsandbytes'
 * field names ({@code load_in_4bit}, {@code bnb_4bit_quant_type}, ...), so the object reads as a
 * {@code BitsAndBytesConfig}. HF PEFT ignores the extra key when it loads the adapter.
 */
public final class BaseQuantization {
    /** The key in {@code adapter_config.json}. */
    public static final String FIELD = "quantization_config";
    /** bitsandbytes has one 4-bit block size (64); others are peft4j's and recorded under this key. */
    private static final String BLOCK_SIZE = "peft4j_block_size";
    private static final ObjectMapper JSON = new ObjectMapper();

    private BaseQuantization() {}

    public static ObjectNode toJson(QuantizationConfig q) {
        ObjectNode n = JSON.createObjectNode();
        n.put("quant_method", "bitsandbytes");
        n.put("load_in_4bit", q.type().isFourBit());
        n.put("load_in_8bit", !q.type().isFourBit());
        if (q.type().isFourBit()) {
            n.put("bnb_4bit_quant_type", q.type().bnbName());
            n.put("bnb_4bit_use_double_quant", q.doubleQuant());
            n.put("bnb_4bit_compute_dtype", q.computeDType() == DataType.FLOAT16 ? "float16" : "float32");
            if (q.blockSize() != 64) {
                n.put(BLOCK_SIZE, q.blockSize());
            }
        }
        ArrayNode skip = n.putArray("llm_int8_skip_modules");
        q.skipModules().forEach(skip::add);
        return n;
    }

    /** Reads the object written by {@link #toJson} (or a transformers {@code BitsAndBytesConfig}); wrong types name the field. */
    public static QuantizationConfig fromJson(JsonNode json) {
        ConfigJson j = ConfigJson.of(json, FIELD);
        String method = j.text("quant_method");
        if (method != null && !method.equals("bitsandbytes")) {
            throw new IllegalArgumentException(FIELD + ": quant_method '" + method + "' is not supported; expected bitsandbytes");
        }
        boolean four = j.boolField("load_in_4bit", false);
        boolean eight = j.boolField("load_in_8bit", false);
        if (four == eight) {
            throw new IllegalArgumentException(FIELD + ": exactly one of load_in_4bit and load_in_8bit must be true");
        }
        QuantizationConfig.Builder b = QuantizationConfig.builder();
        if (eight) {
            b.type(QuantType.INT8).doubleQuant(false);
        } else {
            String type = j.text("bnb_4bit_quant_type");
            b.type(type == null ? QuantType.FP4 : QuantType.ofBnbName(type));
            b.doubleQuant(j.boolField("bnb_4bit_use_double_quant", false));
            b.blockSize(j.intField(BLOCK_SIZE, 64));
            String compute = j.text("bnb_4bit_compute_dtype");
            b.computeDType("float16".equals(compute) ? DataType.FLOAT16 : DataType.FLOAT32);
        }
        List<String> skip = j.stringList("llm_int8_skip_modules");
        if (skip != null) {
            b.skipModules(skip);
        }
        return b.build();
    }
}

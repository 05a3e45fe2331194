package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.quant.BnbCheckpoint;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.tuner.BaseQuantization;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * 4-bit Llama checkpoints: quantized while loading ({@link DecoderLoadOptions#quantization()}), and saved
 * by bitsandbytes' layout with {@code quantization_config} in {@code config.json}, on the real
 * stories260K. The reference in both cases is the same weights quantized by {@link ModelQuantizer} after a
 * float32 load (NF4 codes themselves are checked against bitsandbytes' published values in
 * QuantCodesTest): the same quantization of the same weights must give the same logits, exactly.
 */
class LlamaQuantizedLoadTest {
    /** Every linear layer of stories260K but the (tied) head: 7 per layer, 5 layers. */
    private static final int LINEAR_LAYERS = 35;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static long[] prompt() {
        return Stories260K.longs(Stories260K.expected().get("prompts").get(0).get("ids"));
    }

    private static PeftModel quantizedAfterLoad(QuantizationConfig q) throws Exception {
        PeftModel m = Llama.causalLm(Stories260K.dir(), "stories260K");
        ModelQuantizer.quantizeLinears(m, q, name -> !name.equals("lm_head"));
        return m;
    }

    private static void assertSameLogits(PeftModel a, PeftModel b) {
        long[] ids = prompt();
        try (NDManager m = a.manager().newSubManager(); NDManager m2 = b.manager().newSubManager()) {
            float[][] x = StoriesDtypesTest.logits(a, m, ids);
            float[][] y = StoriesDtypesTest.logits(b, m2, ids);
            for (int i = 0; i < ids.length; i++) {
                assertArrayEquals(x[i], y[i], 0f, "position " + i);
            }
        }
    }

    @Test
    void quantizingWhileLoadingEqualsQuantizingAfterALoad() throws Exception {
        QuantizationConfig q = QuantizationConfig.nf4();
        try (PeftModel after = quantizedAfterLoad(q);
                PeftModel during = Llama.causalLm(Stories260K.dir(), "stories260K", DecoderLoadOptions.builder().quantization(q).build())) {
            assertEquals(LINEAR_LAYERS, ModelQuantizer.quantizedLayers(during).size());
            assertEquals(ModelQuantizer.quantizedLayers(after), ModelQuantizer.quantizedLayers(during));
            assertEquals(after.weightBytes(), during.weightBytes());
            assertSameLogits(after, during);
        }
    }

    @Test
    void aBitsandbytesCheckpointLoadsQuantizedWithTheLogitsOfTheInMemoryModel() throws Exception {
        for (QuantizationConfig q : List.of(QuantizationConfig.nf4(),
                QuantizationConfig.builder().type(QuantType.FP4).doubleQuant(false).build())) {
            Path out = Files.createDirectories(dir.resolve(q.type().bnbName()));
            try (PeftModel mem = quantizedAfterLoad(q)) {
                writeBnbDirectory(mem, q, out);
                Map<String, Tensor> saved = SafeTensors.read(out.resolve("model.safetensors")).tensors();
                assertEquals(DType.U8, saved.get("model.layers.0.self_attn.q_proj.weight").dtype(), "packed 4-bit codes");
                assertTrue(saved.containsKey("model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__" + q.type().bnbName()));
                LlamaCheckpoint ckpt = LlamaCheckpoint.read(out);
                assertEquals(q.type(), ckpt.quantization().type());
                assertEquals(q.doubleQuant(), ckpt.quantization().doubleQuant());
                try (PeftModel back = Llama.causalLm(ckpt, "stories260K-bnb")) {
                    assertEquals(LINEAR_LAYERS, ModelQuantizer.quantizedLayers(back).size());
                    assertTrue(back.module("model.layers.4.mlp.down_proj") instanceof QuantizedLinear);
                    assertEquals(mem.weightBytes(), back.weightBytes());
                    assertSameLogits(mem, back);
                }
            }
        }
    }

    @Test
    void quantizationConfigsPeft4jCannotHonourAreErrorsNamingTheField() throws Exception {
        try (PeftModel mem = quantizedAfterLoad(QuantizationConfig.nf4())) {
            writeBnbDirectory(mem, QuantizationConfig.nf4(), dir);
        }
        assertConfigError(q -> q.put("load_in_4bit", false).put("load_in_8bit", true), "quantization_config.load_in_8bit");
        assertConfigError(q -> q.put("bnb_4bit_quant_type", "int4"), "quantization_config.bnb_4bit_quant_type");
        assertConfigError(q -> q.put("quant_method", "gptq"), "quantization_config.quant_method 'gptq'");
        // Quantized tensors with no quantization_config at all.
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.remove("quantization_config");
        Files.writeString(dir.resolve("config.json"), config.toString());
        Exception e = assertThrows(Exception.class, () -> LlamaCheckpoint.read(dir));
        assertTrue(e.getMessage().contains("no quantization_config") && e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    private void assertConfigError(java.util.function.Consumer<ObjectNode> edit, String expected) throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        ObjectNode saved = config.deepCopy();
        edit.accept((ObjectNode) config.get("quantization_config"));
        Files.writeString(dir.resolve("config.json"), config.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaCheckpoint.read(dir));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("config.json"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), saved.toString());
    }

    /** A transformers bnb-4bit directory: the model in bitsandbytes' layout and config.json with quantization_config. */
    static void writeBnbDirectory(PeftModel quantized, QuantizationConfig q, Path out) throws Exception {
        BnbCheckpoint.save(quantized, "", out.resolve("model.safetensors"));
        ObjectNode config = (ObjectNode) JSON.readTree(Stories260K.dir().resolve("config.json").toFile());
        ObjectNode qc = BaseQuantization.toJson(q);
        qc.put("bnb_4bit_compute_dtype", "bfloat16");
        config.set("quantization_config", qc);
        Files.writeString(out.resolve("config.json"), config.toString());
    }
}

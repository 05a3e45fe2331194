package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * LoRA and QLoRA through {@link Peft}. A QLoRA adapter records its base's quantization in
 * adapter_config.json; loaded through the generic {@link Peft#load} onto a float base, the base is
 * quantized the same way first (our choice over a warning: the adapter was trained against the
 * quantized weights). Quantization is deterministic, so the reloaded model computes what the trained
 * one did: logits equal to 1e-5 (float32 reductions of the same values).
 */
class PeftEntryPointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static LoraConfig.Builder qv() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value").modulesToSave("classifier");
    }

    private static void train(PeftModel m) {
        new Trainer(m, TrainingConfig.builder().epochs(1).batchSize(8).learningRate(1e-2f).progressBar(false).build())
                .fit(TinyBert.task(16, 9), null);
    }

    @Test
    void loraWrapsSavesLoadsAndMergesThroughTheEntryPoint() throws Exception {
        float[] trained;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            PeftAdapter<LoraConfig> lora = Peft.wrap(m, qv().build());
            assertEquals("LORA", lora.peftType());
            train(m);
            trained = LoraFixtures.logits(m);
            lora.save(dir);
        }
        JsonNode json = JSON.readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());
        assertTrue(json.get("inference_mode").asBoolean(), "saved as HF PEFT saves: inference_mode true");
        assertNull(json.get("quantization_config"), "a float-base adapter records no quantization");
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            PeftAdapter<PeftConfig> loaded = Peft.load(fresh, dir);
            assertTrue(loaded.config() instanceof LoraConfig);
            assertTrue(fresh.trainableParameters().isEmpty());
            assertTrue(LoraFixtures.maxAbsDiff(trained, LoraFixtures.logits(fresh)) < 1e-5);
            loaded.mergeAndUnload();
            assertTrue(LoraModel.of(fresh).layers().isEmpty(), "no LoRA layer left");
            assertTrue(LoraFixtures.maxAbsDiff(trained, LoraFixtures.logits(fresh)) < 1e-4, "merged model computes the same");
        }
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            Peft.load(fresh, dir, "mine", true);
            assertFalse(fresh.trainableParameters().isEmpty());
            assertEquals("mine", LoraModel.of(fresh).activeAdapter());
        }
    }

    @Test
    void qloraAdapterRecordsItsQuantizationAndRequantizesAFloatBaseOnLoad() throws Exception {
        QuantizationConfig nf4 = QuantizationConfig.nf4();
        float[] trained;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            PeftAdapter<LoraConfig> qlora = Peft.wrap(m, qv().quantization(nf4).build());
            assertTrue(m.module("bert.encoder.layer.1.intermediate.dense") instanceof QuantizedLinear, "QLoRA quantized the base");
            assertTrue(m.module("classifier") instanceof Linear, "modules_to_save stay float32");
            train(m);
            trained = LoraFixtures.logits(m);
            qlora.save(dir);
        }
        JsonNode q = JSON.readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile()).get("quantization_config");
        assertEquals("bitsandbytes", q.get("quant_method").asText());
        assertTrue(q.get("load_in_4bit").asBoolean());
        assertEquals("nf4", q.get("bnb_4bit_quant_type").asText());
        assertTrue(q.get("bnb_4bit_use_double_quant").asBoolean());
        try (PeftModel floatBase = TinyBert.classifier(1, 0f)) {
            Peft.load(floatBase, dir);
            assertTrue(floatBase.module("bert.encoder.layer.1.intermediate.dense") instanceof QuantizedLinear,
                    "generic load quantized the float base as recorded");
            assertTrue(LoraFixtures.maxAbsDiff(trained, LoraFixtures.logits(floatBase)) < 1e-5);
        }
    }

    @Test
    void qloraLoadQuantizesWithAFallbackWhenTheAdapterRecordsNothing() throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            QLora.wrap(m, qv().build(), QuantizationConfig.builder().type(QuantType.INT8).build()).save(dir);
        }
        // An HF PEFT adapter keeps the quantization in the base's config.json, not beside the adapter.
        ObjectNode json = (ObjectNode) JSON.readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());
        assertTrue(json.get("quantization_config").get("load_in_8bit").asBoolean(), "INT8 QLoRA records load_in_8bit");
        json.remove("quantization_config");
        Files.writeString(dir.resolve(AdapterFiles.CONFIG_FILE), json.toString());
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = QLora.load(m, dir, QuantizationConfig.builder().type(QuantType.INT8).build(), false);
            QuantizedLinear base = (QuantizedLinear) ((LoraLinear) lora.layers().get("bert.encoder.layer.0.attention.self.query")).base();
            assertEquals(QuantType.INT8, base.config().type());
            assertEquals(QuantType.INT8, lora.config("default").quantization().type());
        }
    }
}

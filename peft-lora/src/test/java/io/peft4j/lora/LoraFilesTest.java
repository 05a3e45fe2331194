package io.peft4j.lora;

import static io.peft4j.lora.LoraFixtures.logits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

class LoraFilesTest {
    private static final String Q0 = "base_model.model.bert.encoder.layer.0.attention.self.query.";

    @TempDir
    Path dir;

    private static LoraConfig config() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value").modulesToSave("classifier")
                .useDora(true).bias(LoraBias.LORA_ONLY).taskType("SEQ_CLS").build();
    }

    /** Trains a few steps so that every adapter tensor differs from its initial value, then saves. */
    private Map<String, Tensor> trainAndSave(Path to) throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, config());
            new Trainer(m, TrainingConfig.builder().epochs(1).batchSize(8).learningRate(1e-2f).warmupRatio(0.1f)
                    .weightDecay(0.01f).progressBar(false).build())
                    .fit(TinyBert.task(32, 1), null);
            lora.save(to);
            return lora.adapterState("default");
        }
    }

    @Test
    void savesHfKeysAndLoadsBackBitExact() throws Exception {
        Map<String, Tensor> saved = trainAndSave(dir);
        Set<String> keys = SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors().keySet();
        Set<String> want = new TreeSet<>();
        for (int l = 0; l < 2; l++) {
            for (String mod : new String[] {"query", "value"}) {
                String p = "base_model.model.bert.encoder.layer." + l + ".attention.self." + mod + ".";
                want.add(p + "lora_A.weight");
                want.add(p + "lora_B.weight");
                want.add(p + "lora_magnitude_vector");
                want.add(p + "base_layer.bias");
            }
        }
        want.add("base_model.model.classifier.weight");
        want.add("base_model.model.classifier.bias");
        assertEquals(want, new TreeSet<>(keys));
        assertArrayEquals(new long[] {4, 32}, saved.get(Q0 + "lora_A.weight").shape());
        assertArrayEquals(new long[] {32, 4}, saved.get(Q0 + "lora_B.weight").shape());
        assertArrayEquals(new long[] {32}, saved.get(Q0 + "lora_magnitude_vector").shape());
        assertEquals("pt", SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).metadata().get("format"));
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());
        assertEquals("LORA", json.get("peft_type").asText());
        assertTrue(json.get("inference_mode").asBoolean(), "saved configs say inference_mode, as HF PEFT writes them");
        assertEquals("tiny-bert", json.get("base_model_name_or_path").asText());
        assertEquals("lora_only", json.get("bias").asText());
        assertTrue(json.get("use_dora").asBoolean());

        float[] trainedLogits;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, config());
            lora.loadAdapter(dir, "again", false);
            lora.setAdapter("again");
            trainedLogits = logits(m);
        }
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            AdapterFiles.load(fresh, dir, "default");
            LoraModel lora = LoraModel.of(fresh);
            assertTrue(fresh.trainableParameters().isEmpty(), "inference_mode: the loaded adapter is frozen");
            Map<String, Tensor> loaded = lora.adapterState("default");
            assertEquals(saved.keySet(), loaded.keySet());
            saved.forEach((k, v) -> assertEquals(v.data(), loaded.get(k).data(), "bytes of " + k));
            assertArrayEquals(trainedLogits, logits(fresh));
        }
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            LoraModel.load(fresh, dir, true);
            assertFalse(fresh.trainableParameters().isEmpty(), "loaded for further training");
        }
    }

    /** HF PEFT writes the targets it chose from its per-architecture constants (BERT: query, value). */
    @Test
    void defaultTargetsAreWrittenIntoTheSavedConfig() throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, LoraConfig.builder().r(2).taskType("SEQ_CLS").build());
            lora.save(dir);
        }
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());
        Set<String> targets = new TreeSet<>();
        json.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(Set.of("query", "value"), targets);
    }

    @Test
    void badAdapterFilesFailClearlyAndLeaveTheModelAsItWas() throws Exception {
        trainAndSave(dir);
        Map<String, Tensor> good = new LinkedHashMap<>(SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors());
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(dir.resolve(AdapterFiles.CONFIG_FILE).toFile());

        // Shapes that do not fit: the config claims r = 8 for tensors of rank 4.
        String shape = failLoad(json.deepCopy().put("r", 8), good);
        assertTrue(shape.contains("tensors have shape [4, 32] but the model needs [8, 32]: '" + Q0 + "lora_A.weight'"), shape);

        Map<String, Tensor> missing = new LinkedHashMap<>(good);
        missing.remove(Q0 + "lora_B.weight");
        String m1 = failLoad(json, missing);
        assertTrue(m1.contains("1 missing tensor: '" + Q0 + "lora_B.weight'"), m1);

        Map<String, Tensor> foreign = new LinkedHashMap<>(good);
        foreign.put("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", Tensor.ofFloats(new float[8], 2, 4));
        String m2 = failLoad(json, foreign);
        assertTrue(m2.contains("1 unexpected tensor: 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight'"), m2);
        assertTrue(m2.contains("another base model") && m2.contains("transformer.h.0.attn.c_attn"), m2);

        String unsupported = failLoad(json.deepCopy().put("lora_bias", true), good);
        assertTrue(unsupported.contains("lora_bias"), unsupported);

        ObjectNode noTargets = json.deepCopy();
        noTargets.putArray("target_modules").add("c_attn");
        String arch = failLoad(noTargets, good);
        assertTrue(arch.contains("c_attn") && arch.contains("closest"), arch);
    }

    private String failLoad(ObjectNode json, Map<String, Tensor> tensors) throws Exception {
        Path d = Files.createTempDirectory(dir, "bad");
        Files.writeString(d.resolve(AdapterFiles.CONFIG_FILE), json.toString());
        SafeTensors.write(d.resolve(AdapterFiles.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            float[] out = logits(m);
            Exception e = assertThrows(Exception.class, () -> AdapterFiles.load(m, d, "default"));
            assertTrue(m.adapters().isEmpty(), "no adapter registered after a failed load");
            assertTrue(LoraModel.of(m).layers().isEmpty(), "no layer wrapped after a failed load");
            Map<String, float[]> after = Weights.snapshot(m);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
            assertArrayEquals(out, logits(m));
            return e.getMessage();
        }
    }
}

package io.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.freeze.FreezeStrategy;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/** The entry point for the core strategies: wrap, one save, load, merge-and-unload. */
class PeftTest {
    @TempDir
    Path dir;

    @Test
    void freezeWrapsSavesAndLoadsThroughOneEntryPoint() throws Exception {
        FreezeConfig cfg = FreezeConfig.builder().modulesToTrain("classifier").build();
        Map<String, float[]> trained;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            PeftAdapter<FreezeConfig> adapter = Peft.wrap(m, cfg);
            assertEquals("FREEZE", adapter.peftType());
            for (NamedParameter p : m.namedParameters()) {
                assertEquals(p.name().startsWith("classifier."), p.isTrainable(), p.name());
            }
            new Trainer(m, TrainingConfig.builder().epochs(1).batchSize(8).learningRate(1e-2f).progressBar(false).build())
                    .fit(TinyBert.task(16, 1), null);
            trained = Weights.snapshot(m);
            adapter.save(dir);
        }
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            PeftAdapter<PeftConfig> loaded = Peft.load(fresh, dir);
            assertEquals(cfg, loaded.config());
            Map<String, float[]> got = Weights.snapshot(fresh);
            trained.forEach((k, v) -> assertArrayEquals(v, got.get(k), k));
            assertTrue(fresh.trainableParameters().isEmpty(), "loaded for inference by default, as HF PEFT");
            loaded.mergeAndUnload();
            assertTrue(fresh.adapters().isEmpty());
        }
        try (PeftModel again = TinyBert.classifier(1, 0f)) {
            Peft.load(again, dir, true);
            assertFalse(again.trainableParameters().isEmpty(), "trainable when asked");
        }
    }

    @Test
    void freezeConfigIsReadStrictly() throws Exception {
        JsonNode json = new ObjectMapper().readTree("{\"peft_type\":\"FREEZE\",\"layers_to_train\":[\"1\"]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FreezeStrategy().parseConfig(json));
        assertTrue(e.getMessage().contains("layers_to_train entries must be integers"), e.getMessage());
    }

    @Test
    void fullFineTuningThroughTheEntryPointAndRejectedConfigsLeaveTheModel() throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            PeftAdapter<FullFineTuningConfig> full = Peft.wrap(m, new FullFineTuningConfig(), "full");
            assertEquals(m.namedParameters().size(), m.trainableParameters().size());
            full.save(dir);
            assertEquals(full.model(), full.mergeAndUnload());
            assertTrue(m.adapters().isEmpty());
        }
        try (PeftModel m = TinyBert.classifier(2, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            assertThrows(IllegalArgumentException.class,
                    () -> Peft.wrap(m, FreezeConfig.builder().modulesToTrain("no_such_module").build()));
            assertTrue(m.adapters().isEmpty());
            Peft.load(m, dir);
            Map<String, float[]> trainedBase = Weights.snapshot(m);
            assertFalse(java.util.Arrays.equals(before.get("classifier.weight"), trainedBase.get("classifier.weight")),
                    "FULL state of the seed-1 model replaced the seed-2 weights");
        }
    }
}

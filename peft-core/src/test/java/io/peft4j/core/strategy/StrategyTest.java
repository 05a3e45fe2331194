package io.peft4j.core.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.freeze.FreezeStrategy;
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

class StrategyTest {
    @TempDir
    Path dir;

    @Test
    void serviceLoaderFindsBothCoreStrategies() {
        assertTrue(Strategies.available().keySet().containsAll(java.util.Set.of("FULL", "FREEZE")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Strategies.forType("NOPE"));
        assertTrue(e.getMessage().contains("FREEZE") && e.getMessage().contains("FULL"), e.getMessage());
    }

    @Test
    void freezeTrainsOnlyTheSelection() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            new FreezeStrategy().apply(m, FreezeConfig.builder().modulesToTrain("classifier").layersToTrain(1).build(), "default");
            for (NamedParameter p : m.namedParameters()) {
                boolean expected = p.name().startsWith("classifier.") || p.name().contains("layer.1.");
                assertEquals(expected, p.isTrainable(), p.name());
            }
            assertEquals(m.trainableReport().trainable(),
                    m.trainableParameters().stream().mapToLong(NamedParameter::size).sum());
        }
    }

    @Test
    void savedAdapterLoadsThroughTheSpiBitExact() throws Exception {
        FreezeConfig cfg = FreezeConfig.builder().modulesToTrain("classifier").layersToTrain(1).build();
        Map<String, float[]> trained;
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            FreezeStrategy s = new FreezeStrategy();
            s.apply(m, cfg, "default");
            new Trainer(m, TrainingConfig.builder().epochs(1).batchSize(8).learningRate(1e-3f).warmupRatio(0.1f)
                    .weightDecay(0.01f).progressBar(false).build())
                    .fit(TinyBert.task(32, 1), null);
            trained = Weights.snapshot(m);
            AdapterFiles.save(m, s, cfg, "default", dir);
        }
        String json = Files.readString(dir.resolve(AdapterFiles.CONFIG_FILE));
        assertTrue(json.contains("\"peft_type\" : \"FREEZE\"") && json.contains("tiny-bert"), json);
        assertEquals(cfg, AdapterFiles.readConfig(dir));
        try (PeftModel fresh = TinyBert.classifier(1, 0.1f)) {
            PeftConfig loaded = AdapterFiles.load(fresh, dir, "default");
            assertEquals(cfg, loaded);
            Map<String, float[]> got = Weights.snapshot(fresh);
            for (String k : trained.keySet()) {
                assertArrayEquals(trained.get(k), got.get(k), k);
            }
            assertEquals(cfg, fresh.adapters().get("default"));
        }
    }

    @Test
    void badAdapterLeavesTheModelUntouched() throws Exception {
        FreezeConfig cfg = FreezeConfig.builder().modulesToTrain("classifier").build();
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            FreezeStrategy s = new FreezeStrategy();
            s.apply(m, cfg, "default");
            AdapterFiles.save(m, s, cfg, "default", dir);
        }
        // Corrupt the classifier bias's shape.
        Map<String, Tensor> t = new LinkedHashMap<>(SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors());
        t.put("classifier.bias", Tensor.ofFloats(new float[] {1, 2, 3}, 3));
        SafeTensors.write(dir.resolve(AdapterFiles.WEIGHTS_FILE), t);
        try (PeftModel fresh = TinyBert.classifier(2, 0.1f)) {
            Map<String, float[]> before = Weights.snapshot(fresh);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterFiles.load(fresh, dir, "default"));
            assertTrue(e.getMessage().contains("classifier.bias") && e.getMessage().contains("[3]") && e.getMessage().contains("(2)"),
                    e.getMessage());
            Map<String, float[]> after = Weights.snapshot(fresh);
            for (String k : before.keySet()) {
                assertArrayEquals(before.get(k), after.get(k), k);
            }
            assertTrue(fresh.adapters().isEmpty());
            assertTrue(fresh.trainableParameters().size() == fresh.namedParameters().size(), "trainable flags unchanged");
        }
    }

    @Test
    void freezeConfigSelectingNothingFailsWithNearestNames() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new FreezeStrategy().apply(m, FreezeConfig.builder().modulesToTrain("clasifier").build(), "default"));
            assertTrue(e.getMessage().contains("classifier"), e.getMessage());
            assertEquals(m.namedParameters().size(), m.trainableParameters().size());
        }
    }
}

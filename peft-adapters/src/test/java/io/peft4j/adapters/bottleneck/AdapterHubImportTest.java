package io.peft4j.adapters.bottleneck;

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
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Import of adapters in AdapterHub's saved layout: the fixtures under {@code adapterhub/} are written
 * by {@code src/test/python/make_adapterhub_fixtures.py} in exactly the names and shapes AdapterHub's
 * {@code adapters} library uses (hand-written from its code; the library is not installed here). The
 * loaded weights must equal the file's bit for bit at the places its keys name, and the adapted
 * sub-layer must compute AdapterHub's formula with them ({@link BottleneckReference}).
 */
class AdapterHubImportTest {
    @TempDir
    Path tmp;

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(AdapterHubImportTest.class.getResource("/adapterhub/" + name).toURI());
    }

    private static void assertWeightsAreTheFiles(PeftModel m, Path dir, String name) throws IOException {
        Map<String, Tensor> file = SafeTensors.read(dir.resolve("adapter.safetensors")).tensors();
        for (Map.Entry<String, Tensor> e : file.entrySet()) {
            // AdapterHub's key is the in-model name here (both models name the BERT body "bert").
            float[] got = m.parameter(e.getKey()).parameter().getArray().toFloatArray();
            assertArrayEquals(e.getValue().toFloatArray(), got, e.getKey());
        }
    }

    @Test
    void pfeifferAdapterLoadsAtTheFeedForwardOutputs() throws Exception {
        Path dir = fixture("seq_bn");
        try (PeftModel m = TinyBert.classifier(21, 0f)) {
            String name = AdapterHubImport.load(m, dir, false);
            assertEquals("sst-2", name);
            BottleneckModel bn = BottleneckModel.of(m);
            assertEquals(Set.of("bert.encoder.layer.0.output", "bert.encoder.layer.1.output"), bn.layers().keySet());
            BottleneckConfig c = bn.config(name);
            assertTrue(c.originalLnBefore() && c.outputAdapter() && !c.mhAdapter());
            assertEquals(NonLinearity.RELU, c.nonLinearity());
            assertEquals(16.0, c.reductionFactor());
            assertEquals("tiny-bert", c.baseModelNameOrPath());
            assertWeightsAreTheFiles(m, dir, name);
            assertTrue(m.trainableParameters().isEmpty(), "loaded for inference");
            BottleneckBertTest.assertPlaceMatchesReference(m, "bert.encoder.layer.1.output", name);
        }
    }

    @Test
    void houlsbyAdapterLoadsAtAttentionAndFeedForwardOutputsAndSavesAsPeft4j() throws Exception {
        Path dir = fixture("double_seq_bn");
        try (PeftModel m = TinyBert.classifier(22, 0f)) {
            String name = AdapterHubImport.load(m, dir, true);
            BottleneckModel bn = BottleneckModel.of(m);
            assertEquals(4, bn.layers().size());
            assertEquals(NonLinearity.SWISH, bn.config(name).nonLinearity());
            assertWeightsAreTheFiles(m, dir, name);
            assertEquals(4L * (2 * 32 + 2 + 32 * 2 + 32), m.trainableReport().trainable(), "loaded trainable");
            BottleneckBertTest.assertPlaceMatchesReference(m, "bert.encoder.layer.0.attention.output", name);
            BottleneckBertTest.assertPlaceMatchesReference(m, "bert.encoder.layer.1.output", name);
            bn.save(tmp, name);
        }
        Set<String> keys = new TreeSet<>(SafeTensors.read(tmp.resolve("adapter_model.safetensors")).tensors().keySet());
        assertTrue(keys.contains("base_model.model.bert.encoder.layer.0.attention.output.adapter_down.weight"), keys.toString());
        assertEquals(16, keys.size());
    }

    @Test
    void unsupportedOrForeignFilesAreRefusedClearly() throws Exception {
        Path src = fixture("seq_bn");
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(src.resolve("adapter_config.json").toFile());

        Path pickle = Files.createDirectories(tmp.resolve("pickle"));
        Files.copy(src.resolve("adapter_config.json"), pickle.resolve("adapter_config.json"));
        Files.write(pickle.resolve("pytorch_adapter.bin"), new byte[] {'P', 'K', 3, 4});
        Path wide = Files.createDirectories(tmp.resolve("wide"));
        Files.copy(src.resolve("adapter.safetensors"), wide.resolve("adapter.safetensors"));
        Files.writeString(wide.resolve("adapter_config.json"), config.deepCopy().put("hidden_size", 768).toString());
        Path parallel = Files.createDirectories(tmp.resolve("parallel"));
        ObjectNode par = config.deepCopy();
        ((ObjectNode) par.get("config")).put("is_parallel", true);
        Files.writeString(parallel.resolve("adapter_config.json"), par.toString());
        Path deeper = Files.createDirectories(tmp.resolve("deeper"));
        Files.copy(src.resolve("adapter_config.json"), deeper.resolve("adapter_config.json"));
        Map<String, Tensor> t = new TreeMap<>(SafeTensors.read(src.resolve("adapter.safetensors")).tensors());
        t.put("bert.encoder.layer.5.output.adapters.sst-2.adapter_up.bias", Tensor.ofFloats(new float[32], 32));
        SafeTensors.write(deeper.resolve("adapter.safetensors"), t);

        try (PeftModel m = TinyBert.classifier(23, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            IOException e1 = assertThrows(IOException.class, () -> AdapterHubImport.load(m, pickle, false));
            assertTrue(e1.getMessage().contains("pickle") && e1.getMessage().contains("adapter.safetensors"), e1.getMessage());
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> AdapterHubImport.load(m, wide, false));
            assertTrue(e2.getMessage().contains("hidden size 768") && e2.getMessage().contains("32"), e2.getMessage());
            IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
                    () -> AdapterHubImport.load(m, parallel, false));
            assertTrue(e3.getMessage().contains("is_parallel"), e3.getMessage());
            IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class, () -> AdapterHubImport.load(m, deeper, false));
            assertTrue(e4.getMessage().contains("layer.5.output"), e4.getMessage());
            assertTrue(m.adapters().isEmpty());
            assertFalse(m.namedModules().values().stream().anyMatch(x -> x instanceof BottleneckOutput));
            Map<String, float[]> after = Weights.snapshot(m);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
        }
    }
}

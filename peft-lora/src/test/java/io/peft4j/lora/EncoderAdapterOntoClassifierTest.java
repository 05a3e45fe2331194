package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.BertModel;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/**
 * An adapter trained on a bare encoder (sentence-transformers saves {@code base_model.model.encoder...})
 * loads onto a classifier built on that encoder ({@code bert.encoder...}); one saved on a classifier
 * does not fit a bare encoder, and the error says which model to load onto in a few words. The
 * expected tensors are the ones read back from the saved file, not from the loader.
 */
class EncoderAdapterOntoClassifierTest {
    @TempDir
    Path dir;

    private static PeftModel encoder(long seed) {
        Compute.seed(seed);
        NDManager manager = Compute.newManager();
        PeftModel m = new PeftModel(new BertModel(TinyBert.config(0f), false), manager, "tiny-bert", "BertModel");
        m.initializeMissing();
        return m;
    }

    @Test
    void encoderAdapterLandsUnderTheClassifiersBert() throws Exception {
        Path adapter = dir.resolve("encoder-adapter");
        try (PeftModel enc = encoder(1)) {
            // Gaussian B: the saved update is not zero, so a tensor landing in the wrong place shows.
            Peft.wrap(enc, LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value")
                    .initLoraWeights(InitLoraWeights.GAUSSIAN).build()).save(adapter);
        }
        Map<String, Tensor> saved = SafeTensors.read(adapter.resolve(AdapterFiles.WEIGHTS_FILE)).tensors();
        assertTrue(saved.containsKey("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"),
                "saved as sentence-transformers does: " + saved.keySet());
        try (PeftModel clf = TinyBert.classifier(2, 0f)) {
            Peft.load(clf, adapter);
            Map<String, float[]> weights = Weights.snapshot(clf);
            int checked = 0;
            for (Map.Entry<String, Tensor> e : saved.entrySet()) {
                String tree = e.getKey().substring("base_model.model.".length());
                String inModel = "bert." + tree.replace(".lora_A.weight", ".lora_A.default.weight")
                        .replace(".lora_B.weight", ".lora_B.default.weight");
                assertArrayEquals(e.getValue().toFloatArray(), weights.get(inModel), inModel);
                checked++;
            }
            assertEquals(2 * 2 * 2, checked, "2 layers x query,value x A,B");
        }
    }

    @Test
    void classifierAdapterOntoABareEncoderSaysWhereItBelongs() throws Exception {
        Path adapter = dir.resolve("classifier-adapter");
        try (PeftModel clf = TinyBert.classifier(3, 0f)) {
            Peft.wrap(clf, LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value")
                    .modulesToSave("classifier").build()).save(adapter);
        }
        try (PeftModel enc = encoder(4)) {
            Map<String, float[]> before = Weights.snapshot(enc);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(enc, adapter));
            String msg = e.getMessage();
            assertTrue(msg.contains("classifier") && msg.contains("Bert.sequenceClassifier"), msg);
            assertTrue(msg.length() < 600, "short: " + msg.length() + " chars: " + msg);
            Map<String, float[]> after = Weights.snapshot(enc);
            assertEquals(before.keySet(), after.keySet(), "model unchanged");
        }
    }
}

package io.peft4j.core.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The module path of saved keys as HF PEFT and the reference sparse fine-tuning write them. */
class HfKeysTest {
    @Test
    void savedModulePathStripsAdapterPartsAndASparseDeltasParameter() {
        assertEquals("encoder.layer.0.attention.self.query",
                HfKeys.savedModulePath("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"));
        assertEquals("bert.encoder.layer.0.output.dense",
                HfKeys.savedModulePath("base_model.model.bert.encoder.layer.0.output.dense.sft_delta.values"));
        // A bias's delta is keyed under the bias; its module is the one above it.
        assertEquals("bert.encoder.layer.0.output.dense",
                HfKeys.savedModulePath("base_model.model.bert.encoder.layer.0.output.dense.bias.sft_delta.indices"));
        // A plain (dense) bias keeps its module as before.
        assertEquals("classifier", HfKeys.savedModulePath("base_model.model.classifier.bias"));
        assertNull(HfKeys.savedModulePath("prompt_embeddings"));
    }
}

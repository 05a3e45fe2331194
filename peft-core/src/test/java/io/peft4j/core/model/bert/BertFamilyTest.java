package io.peft4j.core.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.model.TransformerLayer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The BERT family's knowledge of its models. Expected target modules are HF PEFT's published
 * constants ({@code peft/utils/constants.py}: {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING},
 * {@code ..._IA3_TARGET_MODULES_MAPPING}, {@code ..._IA3_FEEDFORWARD_MODULES_MAPPING}, entries
 * {@code bert} and {@code roberta}); layer and embedding paths are transformers' module names.
 */
class BertFamilyTest {
    @TempDir
    Path dir;

    private static final BertCheckpoint CKPT = TinyEncoders.checkpoint(TinyEncoders.config(BertVariant.BERT, 16).build(), 1);

    @Test
    void registryFindsTheFamilyByModelTypeArchitectureAndConfigFile() throws IOException {
        for (String type : List.of("bert", "roberta", "xlm-roberta")) {
            assertInstanceOf(BertFamily.class, ModelFamilies.forModelType(type), type);
        }
        assertInstanceOf(BertFamily.class, ModelFamilies.forArchitecture("BertForSequenceClassification"));
        assertInstanceOf(BertFamily.class, ModelFamilies.forArchitecture("XLMRobertaModel"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFamilies.forModelType("falcon"));
        assertTrue(e.getMessage().contains("'falcon'") && e.getMessage().contains("bert [bert, roberta, xlm-roberta]"),
                e.getMessage());

        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"hidden_size\": 16}");
        IOException missing = assertThrows(IOException.class, () -> ModelFamilies.forConfig(config));
        assertTrue(missing.getMessage().contains(config.toString()) && missing.getMessage().contains("'model_type'")
                && missing.getMessage().contains("missing"), missing.getMessage());
        Files.writeString(config, "{\"model_type\": \"roberta\"}");
        assertInstanceOf(BertFamily.class, ModelFamilies.forConfig(config));
    }

    @Test
    void defaultTargetsAreHfPeftsForBertAndRoberta() {
        ModelFamily f = new BertFamily();
        assertEquals(List.of("query", "value"), f.defaultTargetModules("LORA"));
        assertEquals(List.of("query", "value"), f.defaultTargetModules("LOHA"));
        assertEquals(List.of("key", "value", "output.dense"), f.defaultTargetModules("IA3"));
        assertEquals(List.of("output.dense"), f.defaultFeedforwardModules("IA3"));
        assertEquals(List.of(), f.defaultFeedforwardModules("LORA"));
        // HF PEFT's AdaLoRA defaults differ between bert and roberta, so the family gives none
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.defaultTargetModules("ADALORA"));
        assertTrue(e.getMessage().contains("'ADALORA'") && e.getMessage().contains("target_modules"), e.getMessage());
    }

    @Test
    void layersEmbeddingsAndBasePathOfAClassifierAndOfTheBareEncoder() {
        try (PeftModel classifier = Bert.sequenceClassifier(CKPT, "tiny", 3, Pooling.MEAN);
                PeftModel encoder = Bert.encoder(CKPT, "tiny")) {
            ModelFamily f = classifier.family();
            assertInstanceOf(BertFamily.class, f);
            assertEquals("bert", f.basePath(classifier));
            assertEquals(List.of(new TransformerLayer(0, "bert.encoder.layer.0"), new TransformerLayer(1, "bert.encoder.layer.1")),
                    f.layers(classifier));
            assertEquals("bert.embeddings.word_embeddings", f.inputEmbeddings(classifier));
            assertEquals(List.of("bert.embeddings.word_embeddings", "bert.embeddings.position_embeddings",
                    "bert.embeddings.token_type_embeddings"), f.embeddings(classifier));
            for (String e : f.embeddings(classifier)) {
                assertTrue(classifier.hasModule(e), e);
            }
            assertEquals("", encoder.family().basePath(encoder));
            assertEquals("encoder.layer.1", encoder.family().layers(encoder).get(1).path());
            assertEquals("BertModel", encoder.architecture());
            assertEquals(List.of(), f.tiedWeights(classifier), "BERT ties no weights");
            assertEquals(List.of(), f.tiedWeights(encoder), "BERT ties no weights");
        }
    }

    @Test
    void aModelBuiltWithoutAFamilyFindsItFromItsArchitecture() {
        try (PeftModel m = new PeftModel(new BertForSequenceClassification(CKPT.config(), 2, Pooling.CLS),
                io.peft4j.core.Compute.newManager(), "tiny", "BertForSequenceClassification")) {
            assertInstanceOf(BertFamily.class, m.family());
        }
        try (PeftModel m = new PeftModel(new BertModel(CKPT.config(), false), io.peft4j.core.Compute.newManager(),
                "tiny", "MPNetModel")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, m::family);
            assertTrue(e.getMessage().contains("'MPNetModel'") && e.getMessage().contains("BertModel"), e.getMessage());
            assertFalse(e.getMessage().isEmpty());
        }
    }
}

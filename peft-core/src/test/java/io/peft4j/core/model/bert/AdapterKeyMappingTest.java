package io.peft4j.core.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.AdapterKeyMapping;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Adapter module paths onto models built on the same encoder: sentence-transformers saves adapters on
 * the bare encoder ({@code encoder.layer.0...}), a classifier keeps it under {@code bert.}. Errors are
 * one short diagnosis, never the list of paths.
 */
class AdapterKeyMappingTest {
    private static final BertCheckpoint CKPT = TinyEncoders.checkpoint(TinyEncoders.config(BertVariant.BERT, 16).build(), 3);
    private static PeftModel classifier;
    private static PeftModel encoder;

    @BeforeAll
    static void build() {
        classifier = Bert.sequenceClassifier(CKPT, "tiny", 2, Pooling.MEAN);
        encoder = Bert.encoder(CKPT, "tiny");
    }

    @AfterAll
    static void close() {
        classifier.close();
        encoder.close();
    }

    private static Set<String> queryValue(String prefix, int layers) {
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < layers; i++) {
            out.add(prefix + "encoder.layer." + i + ".attention.self.query");
            out.add(prefix + "encoder.layer." + i + ".attention.self.value");
        }
        return out;
    }

    @Test
    void aBareEncoderAdapterLoadsOntoAClassifierBuiltOnThatEncoder() {
        AdapterKeyMapping m = classifier.family().adapterKeyMapping(classifier, queryValue("", 2));
        assertEquals(AdapterKeyMapping.rewrite("", "bert."), m);
        assertEquals("bert.encoder.layer.1.attention.self.value", m.apply("encoder.layer.1.attention.self.value"));
        assertTrue(encoder.family().adapterKeyMapping(encoder, queryValue("", 2)).isIdentity());
    }

    @Test
    void aClassifierAdapterFitsItsClassifierAndItsEncoderPartFitsTheBareEncoder() {
        Set<String> saved = queryValue("bert.", 2);
        assertTrue(classifier.family().adapterKeyMapping(classifier, saved).isIdentity());
        assertEquals(AdapterKeyMapping.rewrite("bert.", ""), encoder.family().adapterKeyMapping(encoder, saved));
        saved.add("classifier");
        assertTrue(classifier.family().adapterKeyMapping(classifier, saved).isIdentity());
    }

    @Test
    void aClassifierAdapterOnTheBareEncoderSaysWhichModelToLoadOnto() {
        Set<String> saved = queryValue("bert.", 2);
        saved.add("classifier");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> encoder.family().adapterKeyMapping(encoder, saved));
        String msg = e.getMessage();
        assertTrue(msg.contains("1 of its 5") && msg.contains("'classifier'") && msg.contains("Bert.sequenceClassifier"), msg);
        assertFalse(msg.contains("encoder.layer"), "names no path that fits: " + msg);
    }

    @Test
    void aDeeperModelsAdapterNamesOneMissingPathAndTheLayerCounts() {
        Set<String> saved = new LinkedHashSet<>();
        for (int i = 0; i < 12; i++) {
            for (String m : new String[] {"query", "key", "value", "dense"}) {
                saved.add("encoder.layer." + i + ".attention." + (m.equals("dense") ? "output." : "self.") + m);
            }
        }
        assertEquals(48, saved.size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> classifier.family().adapterKeyMapping(classifier, saved));
        String msg = e.getMessage();
        assertTrue(msg.contains("40 of its 48") && msg.contains("at least 12 layers") && msg.contains("has 2")
                && msg.contains("base_model_name_or_path"), msg);
        // one example, once as saved and once as looked up: never the list
        assertEquals(2, msg.split("encoder\\.layer\\.", -1).length - 1, msg);
        assertFalse(msg.contains("Bert.sequenceClassifier"), "one diagnosis only: " + msg);
    }

    @Test
    void anotherArchitecturesAdapterIsRefusedBriefly() {
        Set<String> saved = Set.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> classifier.family().adapterKeyMapping(classifier, saved));
        assertTrue(e.getMessage().contains("2 of its 2") && e.getMessage().contains("BertForSequenceClassification")
                && e.getMessage().contains("base_model_name_or_path"), e.getMessage());
    }
}

package io.peft4j.core.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

class SelectorTest {
    static PeftModel model;

    @BeforeAll
    static void load() {
        model = TinyBert.classifier(11, 0.1f);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void namesByExactSuffixAndRegex() {
        assertEquals(List.of("bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.1.attention.self.query"),
                Selector.suffix("query").modules(model));
        assertEquals(List.of("classifier"), Selector.exact("classifier").modules(model));
        assertEquals(List.of("bert.encoder.layer.1.attention.self.value"),
                Selector.regex(".*layer\\.1\\..*\\.value").modules(model));
        assertTrue(Selector.suffix("uery").modules(model).isEmpty(), "suffix matches whole components");
    }

    @Test
    void kindsAndLayers() {
        List<String> linear = Selector.kind(ModuleKind.LINEAR).modules(model);
        // per layer: query, key, value, attention.output.dense, intermediate.dense, output.dense; plus the
        // classifier (mean pooling builds no pooler)
        assertEquals(2 * 6 + 1, linear.size());
        assertEquals(3, Selector.kind(ModuleKind.EMBEDDING).modules(model).size());
        assertEquals(1 + 2 * 2, Selector.kind(ModuleKind.LAYER_NORM).modules(model).size());
        List<String> layer1Linear = Selector.kind(ModuleKind.LINEAR).and(Selector.layers(1, 1)).modules(model);
        assertEquals(6, layer1Linear.size());
        assertTrue(layer1Linear.stream().allMatch(n -> n.contains("layer.1.")));
        assertEquals(-1, LayerIndex.of("classifier.weight"));
        assertEquals(3, LayerIndex.of("model.layers.3.self_attn.q_proj"));
        assertEquals(11, LayerIndex.of("h.11.attn.c_attn", "h"));
    }

    @Test
    void composition() {
        Selector qv = Selector.suffix("query", "value");
        List<String> notQv = qv.negate().and(Selector.kind(ModuleKind.LINEAR)).modules(model);
        assertEquals(13 - 4, notQv.size());
        assertFalse(notQv.stream().anyMatch(n -> n.endsWith("query") || n.endsWith("value")));
        List<NamedParameter> head = Selector.within(Selector.suffix("classifier")).parameters(model);
        assertEquals(List.of("classifier.weight", "classifier.bias"), names(head));
        List<NamedParameter> layer0 = Selector.within(Selector.exact("bert.encoder.layer.0")).parameters(model);
        assertEquals(16, layer0.size());
    }

    @Test
    void magnitudeTopKTensorsAndElementsAgreeWithBruteForce() {
        List<NamedParameter> cands = Selector.kind(ModuleKind.LINEAR).and(Selector.regex(".*\\.weight")).parameters(model);
        ElementSelection sel = Ranking.by(Criterion.MAGNITUDE).topK(100).selectElements(cands);
        assertEquals(100, sel.count());
        List<Float> all = new ArrayList<>();
        for (NamedParameter p : cands) {
            for (float v : p.parameter().getArray().toFloatArray()) {
                all.add(Math.abs(v));
            }
        }
        all.sort((a, b) -> Float.compare(b, a));
        float threshold = all.get(99);
        float chosenMin = Float.MAX_VALUE;
        for (NamedParameter p : cands) {
            float[] w = p.parameter().getArray().toFloatArray();
            for (long i : sel.indices(p.name())) {
                chosenMin = Math.min(chosenMin, Math.abs(w[(int) i]));
            }
        }
        assertEquals(threshold, chosenMin, 0f, "the 100 chosen are the 100 largest |w|");

        List<NamedParameter> top2 = Ranking.by(Criterion.MAGNITUDE).topK(2).selectTensors(cands);
        assertEquals(2, top2.size());
        assertEquals(3, Ranking.by(Criterion.MAGNITUDE).fraction(0.2).selectTensors(cands).size()); // ceil(0.2 * 14)
    }

    @Test
    void randomRankingIsDeterministicForASeed() {
        List<NamedParameter> cands = Selector.kind(ModuleKind.LINEAR).parameters(model);
        ElementSelection a = Ranking.by(Criterion.RANDOM).seed(3).fraction(0.05).selectElements(cands);
        ElementSelection b = Ranking.by(Criterion.RANDOM).seed(3).fraction(0.05).selectElements(cands);
        ElementSelection c = Ranking.by(Criterion.RANDOM).seed(4).fraction(0.05).selectElements(cands);
        for (String k : a.indices().keySet()) {
            assertArrayEquals(a.indices(k), b.indices(k), k);
        }
        assertNotEquals(Arrays.toString(a.indices(cands.get(0).name())), Arrays.toString(c.indices(cands.get(0).name())));
        assertEquals(names(Ranking.by(Criterion.RANDOM).seed(9).topK(4).selectTensors(cands)),
                names(Ranking.by(Criterion.RANDOM).seed(9).topK(4).selectTensors(cands)));
    }

    private static List<String> names(List<NamedParameter> ps) {
        List<String> out = new ArrayList<>();
        ps.forEach(p -> out.add(p.name()));
        return out;
    }
}

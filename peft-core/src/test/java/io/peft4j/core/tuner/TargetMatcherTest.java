package io.peft4j.core.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.select.LayerIndex;
import io.peft4j.core.select.Selector;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * One layer index for every strategy, as HF PEFT's {@code check_target_module_exists} computes it:
 * {@code re.match(r".*\.[^.]*\.(\d+)\.", key)} without a pattern, {@code re.match(rf".*\.{p}\.(\d+)\.", key)}
 * with one. Python's {@code .*} is greedy, so the expected indices below are those of the LAST
 * {@code <name>.<digits>.} component (resp. the last one after the pattern), worked out by hand.
 */
class TargetMatcherTest {
    private static final String MOE = "model.layers.3.mlp.experts.7.up_proj";

    @Test
    void mixtureOfExpertsNameHasOneIndexEverywhere() {
        assertEquals(7, LayerIndex.of(MOE), "greedy .* in HF's pattern-less regex: the experts index");
        assertEquals(3, LayerIndex.of(MOE, "layers"));
        assertEquals(3, LayerIndex.of(MOE, List.of("h", "layers")), "patterns tried in order until one matches");
        assertEquals(Integer.valueOf(7), TargetMatcher.layerIndex(null, MOE));
        assertEquals(Integer.valueOf(3), TargetMatcher.layerIndex(List.of("layers"), MOE));
        assertTrue(Selector.layerIn(List.of(7)).test(MOE, null), "Selector reads the same index");
        assertTrue(Selector.layerIn(List.of(3), "layers").test(MOE, null));
        assertEquals(-1, LayerIndex.of("model.layers.3"), "HF's regex needs a dot after the digits");
        assertEquals(-1, LayerIndex.of("lm_head"));
        assertEquals(0, LayerIndex.of("h.0.attn.c_attn", "h"), "a layer list at the root counts too");
    }

    @Test
    void targetsFollowNamesLayersAndExclusions() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            TunerConfigTest.ToyConfig c = new TunerConfigTest.ToyConfig.Builder().targetModules("query", "value")
                    .layersToTransform(1).excludeModules("value").build();
            List<String> chosen = TargetMatcher.targets(c, null, null).modules(m);
            assertEquals(List.of("bert.encoder.layer.1.attention.self.query"), chosen);

            TunerConfigTest.ToyConfig all = new TunerConfigTest.ToyConfig.Builder().allLinear()
                    .excludeModulesRegex(".*(pooler|classifier).*").build();
            List<String> linear = TargetMatcher.targets(all, Selector.kind(ModuleKind.LINEAR), null).modules(m);
            assertEquals(2 * 6, linear.size(), "six linear layers per encoder layer, pooler and head excluded");

            TunerConfigTest.ToyConfig dflt = new TunerConfigTest.ToyConfig.Builder().build();
            assertEquals(2 * 2, TargetMatcher.targets(dflt, null, List.of("query", "value")).modules(m).size());
        }
        assertTrue(TargetMatcher.nameMatches(List.of("self.query"), null, "bert.encoder.layer.0.attention.self.query"));
        assertFalse(TargetMatcher.nameMatches(null, "query", "bert.encoder.layer.0.attention.self.query"),
                "a regex must match the whole name");
        assertNull(TargetMatcher.patternKey(List.of("alue"), "bert.encoder.layer.3.attention.self.value"));
    }
}

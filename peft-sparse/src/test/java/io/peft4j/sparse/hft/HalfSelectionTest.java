package io.peft4j.sparse.hft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.LayerRoles;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.model.TransformerLayer;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * HFT's draw against its rule, counted per role and layer from the family's roles: per layer 2 of 4
 * attention projections and 1 of 2 norms; feed-forward {@code floor(m * L / 2)} in all, each layer
 * {@code floor(m/2)} or one more. Expected counts are that formula, evaluated here.
 */
class HalfSelectionTest {
    private static final HftConfig CONFIG = HftConfig.builder().seed(11).build();

    /** How many of {@code role}'s modules per layer the selection holds. */
    private static int[] perLayer(PeftModel model, HalfSelection s, Function<LayerRoles, List<String>> role) {
        ModelFamily f = model.family();
        List<TransformerLayer> layers = f.layers(model);
        int[] out = new int[layers.size()];
        for (int i = 0; i < out.length; i++) {
            List<String> modules = role.apply(f.layerRoles(model, layers.get(i)));
            out[i] = (int) modules.stream().filter(s.modules()::contains).count();
        }
        return out;
    }

    private static void assertHalfByRule(PeftModel model, HalfSelection s, int attention, int feedForward, int norms) {
        int layers = model.family().layers(model).size();
        checkRole(perLayer(model, s, LayerRoles::attention), attention, layers, "attention");
        checkRole(perLayer(model, s, LayerRoles::feedForward), feedForward, layers, "feed-forward");
        checkRole(perLayer(model, s, LayerRoles::norms), norms, layers, "norms");
        assertEquals(s.modules().size(), Set.copyOf(s.modules()).size(), "no module twice");
    }

    private static void checkRole(int[] counts, int m, int layers, String what) {
        int total = 0;
        for (int c : counts) {
            assertTrue(c == m / 2 || (m % 2 == 1 && c == m / 2 + 1), what + " per layer " + c + " of " + m);
            total += c;
        }
        assertEquals(m * layers / 2, total, what + " in all");
    }

    @Test
    void bertTrainsHalfOfEachRolePerLayer() {
        try (PeftModel model = TinyBert.classifier(3, 0f)) {
            HalfSelection s = HalfSelection.draw(model, model.family(), CONFIG, 0);
            assertHalfByRule(model, s, 4, 2, 2);
            assertEquals(2 * (2 + 1 + 1), s.modules().size());
        }
    }

    @Test
    void llamaTrainsTwoFeedForwardMatricesInARandomHalfOfTheLayersAndOneInTheRest() throws Exception {
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            for (int stage = 0; stage < 4; stage++) {
                HalfSelection s = HalfSelection.draw(model, model.family(), CONFIG, stage);
                assertHalfByRule(model, s, 4, 3, 2);
                int[] ff = perLayer(model, s, LayerRoles::feedForward);
                // 5 layers, 3 matrices: floor(15 / 2) = 7 = 2 + 2 + 1 + 1 + 1.
                assertEquals(2, java.util.Arrays.stream(ff).filter(c -> c == 2).count(), "layers with 2 of 3");
            }
        }
    }

    @Test
    void gpt2CountsTheFusedQkvAsOneAttentionModule() {
        Gpt2Config c = Gpt2Config.builder().vocabSize(50).nPositions(16).nEmbd(16).nLayer(3).nHead(2).build();
        try (PeftModel model = Gpt2.randomCausalLm(c, "tiny-gpt2")) {
            HalfSelection s = HalfSelection.draw(model, model.family(), CONFIG, 0);
            assertHalfByRule(model, s, 2, 2, 2);
            assertEquals(3 * 3, s.modules().size());
        }
    }

    @Test
    void theDrawIsDeterministicForASeedAndDiffersAcrossStagesAndSeeds() {
        try (PeftModel model = TinyBert.classifier(3, 0f)) {
            ModelFamily f = model.family();
            List<String> first = HalfSelection.draw(model, f, CONFIG, 0).modules();
            assertEquals(first, HalfSelection.draw(model, f, CONFIG, 0).modules());
            try (PeftModel other = TinyBert.classifier(99, 0f)) {
                assertEquals(first, HalfSelection.draw(other, other.family(), CONFIG, 0).modules(), "weights do not matter");
            }
            Set<List<String>> stages = java.util.stream.IntStream.range(0, 4)
                    .mapToObj(i -> HalfSelection.draw(model, f, CONFIG, i).modules()).collect(Collectors.toSet());
            assertEquals(4, stages.size(), "four stages, four different halves");
            assertNotEquals(first, HalfSelection.draw(model, f, HftConfig.builder().seed(12).build(), 0).modules());
        }
    }

    @Test
    void embeddingsAndHeadFollowTheConfigAndATiedHeadFollowsTheEmbeddings() throws Exception {
        try (PeftModel model = TinyBert.classifier(3, 0f)) {
            HalfSelection s = HalfSelection.draw(model, model.family(), CONFIG, 0);
            Set<String> names = names(s.parameters(model, model.family(), CONFIG));
            assertTrue(names.contains("classifier.weight") && names.contains("bert.embeddings.LayerNorm.weight"), names.toString());
            assertFalse(names.contains("bert.embeddings.word_embeddings.weight"));
            HftConfig both = HftConfig.builder().seed(11).trainEmbeddings(true).trainHead(false).build();
            Set<String> other = names(s.parameters(model, model.family(), both));
            assertTrue(other.contains("bert.embeddings.word_embeddings.weight"));
            assertFalse(other.contains("classifier.weight"));
            // Inside the layers both configs train exactly the chosen modules' weights and biases.
            Set<String> inLayers = names.stream().filter(n -> n.contains(".layer.")).collect(Collectors.toSet());
            assertEquals(inLayers, other.stream().filter(n -> n.contains(".layer.")).collect(Collectors.toSet()));
            assertEquals(2 * s.modules().size(), inLayers.size(), "weight and bias of each chosen module");
        }
        try (PeftModel llama = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            HalfSelection s = HalfSelection.draw(llama, llama.family(), CONFIG, 0);
            Set<String> names = names(s.parameters(llama, llama.family(), CONFIG));
            assertFalse(names.contains("model.embed_tokens.weight"), "the tied lm_head does not thaw the embeddings");
            assertTrue(names.contains("model.norm.weight"));
        }
    }

    private static Set<String> names(List<NamedParameter> ps) {
        return ps.stream().map(NamedParameter::name).collect(Collectors.toSet());
    }
}

package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.Generation;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

/**
 * Greedy generation on the real stories260K Llama with a LoRA adapter whose B is not zero (HF PEFT's
 * {@code init_lora_weights=False}), so the adapter changes the text: unmerged and merged
 * ({@code mergeAndUnload}) give the same ids, and with the adapters disabled the model gives
 * {@code expected.json}'s base greedy continuations (written by transformers and llama2.c).
 *
 * <p>The four prompts run as one left-padded batch (StoriesGenerationTest shows a batch gives each
 * prompt its own continuation). Ids are compared exactly. Merging changes the float32 rounding of {@code W x + s B A x} by about
 * 1e-6 in the logits; a greedy choice could flip only on a top-1/top-2 gap that small, which these
 * paths do not have (a flip would show as a failure here, not pass silently).
 */
class LoraGenerationTest {
    private static final int NEW_TOKENS = 32;

    /** No eos: every path runs its 32 argmax steps, as the reference did for its 48 (of which the first 32 are compared). */
    private static long[][] greedy(PeftModel model, long[][] prompts) {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(NEW_TOKENS).eosTokenIds(List.of()).build();
        Generation g = Generator.builder(model).config(config).build().generate(prompts);
        long[][] out = new long[prompts.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = g.tokens(i);
        }
        return out;
    }

    private static LoraConfig nonZeroB() {
        return LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj", "o_proj")
                .initLoraWeights(InitLoraWeights.RANDOM).build();
    }

    @Test
    void unmergedMergedAndDisabledAdaptersGenerateAsTheyShould() throws Exception {
        JsonNode prompts = Stories260K.expected().get("prompts");
        int n = prompts.size();
        long[][] ids = new long[n][];
        long[][] base = new long[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = Stories260K.longs(prompts.get(i).get("ids"));
            base[i] = Arrays.copyOf(Stories260K.longs(prompts.get(i).get("greedy").get("ids")), NEW_TOKENS);
        }
        Compute.seed(11);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            PeftAdapter<LoraConfig> lora = Peft.wrap(model, nonZeroB());
            LoraModel tuner = LoraModel.of(model);
            long[][] unmerged = greedy(model, ids);
            boolean anyChanged = false;
            for (int i = 0; i < n; i++) {
                anyChanged |= !Arrays.equals(unmerged[i], base[i]);
            }
            assertTrue(anyChanged, "the adapter (non-zero B) should change at least one continuation");

            try (LoraModel.AdaptersOff off = tuner.disableAdapters()) {
                long[][] disabled = greedy(model, ids);
                for (int i = 0; i < n; i++) {
                    assertArrayEquals(base[i], disabled[i], "disabled adapters, prompt " + i);
                }
            }
            long[][] enabled = greedy(model, ids);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(unmerged[i], enabled[i], "re-enabled adapters, prompt " + i);
            }

            long[][] merged = greedy(lora.mergeAndUnload(), ids);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(unmerged[i], merged[i], "merged vs unmerged, prompt " + i);
            }
        }
    }
}

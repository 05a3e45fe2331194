package io.peft4j.core.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.Generation;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.DynamicKeyValueCache;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.TiedWeights;
import io.peft4j.core.nn.NamedParameter;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The module tree under transformers' names, the key/value cache, and generation on a small random GPT-2. */
class Gpt2CausalLmTest {
    private static final Gpt2Config CONFIG = Gpt2Config.builder().vocabSize(48).nPositions(40).nEmbd(16).nLayer(2).nHead(4).build();
    private static final long[] PROMPT = {7, 3, 19, 44, 2};
    private static PeftModel model;

    @BeforeAll
    static void build() {
        model = Gpt2.randomCausalLm(CONFIG, "random-gpt2");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /**
     * Every parameter as {@code GPT2LMHeadModel(GPT2Config(vocab_size=48, n_positions=40, n_embd=16,
     * n_layer=1, n_head=4)).state_dict()} names and shapes it (transformers' modeling_gpt2: Conv1D
     * weights {@code [nx, nf]}), the tied {@code lm_head.weight} being {@code transformer.wte.weight}.
     */
    @Test
    void parameterNamesAndShapesAreTransformers() {
        Map<String, List<Long>> want = new LinkedHashMap<>();
        want.put("transformer.wte.weight", List.of(48L, 16L));
        want.put("transformer.wpe.weight", List.of(40L, 16L));
        want.put("transformer.h.0.ln_1.weight", List.of(16L));
        want.put("transformer.h.0.ln_1.bias", List.of(16L));
        want.put("transformer.h.0.attn.c_attn.weight", List.of(16L, 48L));
        want.put("transformer.h.0.attn.c_attn.bias", List.of(48L));
        want.put("transformer.h.0.attn.c_proj.weight", List.of(16L, 16L));
        want.put("transformer.h.0.attn.c_proj.bias", List.of(16L));
        want.put("transformer.h.0.ln_2.weight", List.of(16L));
        want.put("transformer.h.0.ln_2.bias", List.of(16L));
        want.put("transformer.h.0.mlp.c_fc.weight", List.of(16L, 64L));
        want.put("transformer.h.0.mlp.c_fc.bias", List.of(64L));
        want.put("transformer.h.0.mlp.c_proj.weight", List.of(64L, 16L));
        want.put("transformer.h.0.mlp.c_proj.bias", List.of(16L));
        want.put("transformer.ln_f.weight", List.of(16L));
        want.put("transformer.ln_f.bias", List.of(16L));
        want.put("lm_head.weight", List.of(48L, 16L));
        Gpt2Config oneLayer = Gpt2Config.builder().vocabSize(48).nPositions(40).nEmbd(16).nLayer(1).nHead(4).build();
        try (PeftModel one = Gpt2.randomCausalLm(oneLayer, "one-layer")) {
            Map<String, List<Long>> got = new LinkedHashMap<>();
            for (NamedParameter p : one.namedParameters()) {
                long[] s = p.module().parameters().get(p.localName()).getArray().getShape().getShape();
                got.put(p.name(), Arrays.stream(s).boxed().collect(java.util.stream.Collectors.toList()));
            }
            for (TiedWeights t : one.family().tiedWeights(one)) {
                for (String alias : t.aliases()) {
                    got.putIfAbsent(alias, got.get(t.owner()));
                }
            }
            assertEquals(want, got);
            assertEquals(List.of(TiedWeights.of("transformer.wte.weight", "lm_head.weight")), one.family().tiedWeights(one));
        }
    }

    /** Prefill then one token at a time through the cache gives the one-pass logits (float32, same ops in another order: 1e-5). */
    @Test
    void cachedStepsGiveTheOnePassLogits() {
        try (NDManager m = model.manager().newSubManager(); DynamicKeyValueCache cache = new DynamicKeyValueCache(m)) {
            GPT2LMHeadModel lm = (GPT2LMHeadModel) model.root();
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(PROMPT, new Shape(1, PROMPT.length));
            float[] full = lm.logits(ps, ForwardContext.builder().inputIds(ids).build(), false).logits().toFloatArray();
            int prefill = 2;
            float[] first = lm.logits(ps, ForwardContext.builder().inputIds(ids.get(new NDIndex(":, 0:" + prefill)))
                    .keyValueCache(cache).build(), false).logits().toFloatArray();
            assertClose(Arrays.copyOfRange(full, 0, prefill * CONFIG.vocabSize()), first, "prefill");
            for (int t = prefill; t < PROMPT.length; t++) {
                float[] step = lm.logits(ps, ForwardContext.builder().inputIds(ids.get(new NDIndex(":, " + t + ":" + (t + 1))))
                        .keyValueCache(cache).build(), false).logits().toFloatArray();
                assertClose(Arrays.copyOfRange(full, t * CONFIG.vocabSize(), (t + 1) * CONFIG.vocabSize()), step, "position " + t);
            }
            assertEquals(PROMPT.length, cache.length());
        }
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5, what + " logit " + i);
        }
    }

    private static Generator greedy(boolean cache) {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(12).eosTokenIds(List.of()).build();
        return Generator.builder(model).config(config).useCache(cache).build();
    }

    @Test
    void greedyGenerationWithAndWithoutTheCacheGivesTheSameIds() {
        long[] cached = greedy(true).generate(new long[][] {PROMPT}).tokens(0);
        assertEquals(12, cached.length);
        assertArrayEquals(greedy(false).generate(new long[][] {PROMPT}).tokens(0), cached);
    }

    /** Left padding with position_ids counting real tokens only: each row continues as it does alone. */
    @Test
    void aLeftPaddedBatchGivesEachPromptItsOwnContinuation() {
        long[][] prompts = {PROMPT, {5, 9}, {31, 30, 29}};
        Generation batch = greedy(true).generate(prompts);
        for (int i = 0; i < prompts.length; i++) {
            assertArrayEquals(greedy(true).generate(new long[][] {prompts[i]}).tokens(0), batch.tokens(i), "row " + i);
        }
    }

    @Test
    void positionsPastNPositionsAreRefused() {
        try (NDManager m = model.manager().newSubManager()) {
            NDArray ids = m.zeros(new Shape(1, CONFIG.nPositions() + 1), ai.djl.ndarray.types.DataType.INT64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ((GPT2LMHeadModel) model.root())
                    .logits(new ParameterStore(m, false), ForwardContext.builder().inputIds(ids).build(), false));
            assertTrue(e.getMessage().contains("position 40 is past n_positions 40"), e.getMessage());
        }
    }
}

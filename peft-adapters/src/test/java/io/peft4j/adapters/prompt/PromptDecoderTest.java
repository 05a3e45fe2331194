package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.llama.LlamaModel;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.PeftConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

/** Prompt tuning, P-tuning and prefix tuning on a grouped-query Llama (4 query heads, 2 key/value heads). */
class PromptDecoderTest {
    private static final int N = 5;
    private static final int H = 32;
    private static final int LAYERS = 2;
    private static final int KV_WIDTH = 2 * 8;
    private static final long[][] IDS = {{1, 5, 9, 3, 7, 2}, {4, 8, 15, 16, 23, 11}};

    private static long trainable(PeftModel model) {
        return model.trainableParameters().stream().mapToLong(NamedParameter::size).sum();
    }

    @Test
    void trainableCountsAreEachMethodsFormula() {
        int h = 12;
        int e = 20;
        long[][] cases = {
            {count(PromptTuningConfig.builder().numVirtualTokens(N).build()), (long) N * H},
            {count(PTuningConfig.builder().numVirtualTokens(N).encoderHiddenSize(h).build()),
                (long) N * H + (H * h + h) + (h * h + h) + (h * H + H)},
            {count(PTuningConfig.builder().numVirtualTokens(N).encoderHiddenSize(h)
                    .encoderReparameterizationType(EncoderReparameterizationType.LSTM).encoderNumLayers(2).build()),
                // table + per layer and direction 4h*(in + h) + 8h (in = H, then 2h) + Linear(2h,2h) + Linear(2h,H)
                (long) N * H + 2L * (4L * h * (H + h) + 8L * h) + 2L * (4L * h * (2 * h + h) + 8L * h)
                    + (2L * h * 2 * h + 2 * h) + (2L * h * H + H)},
            {count(PrefixTuningConfig.builder().numVirtualTokens(N).build()), (long) N * LAYERS * 2 * KV_WIDTH},
            {count(PrefixTuningConfig.builder().numVirtualTokens(N).prefixProjection(true).encoderHiddenSize(e).build()),
                // GQA: token_dim is the key/value width
                (long) N * KV_WIDTH + (KV_WIDTH * e + e) + ((long) e * LAYERS * 2 * KV_WIDTH + (long) LAYERS * 2 * KV_WIDTH)},
        };
        for (long[] c : cases) {
            assertEquals(c[1], c[0]);
        }
    }

    private static long count(PeftConfig config) {
        try (PeftModel model = TinyDecoders.llama(1)) {
            Peft.wrap(model, config);
            for (NamedParameter p : model.trainableParameters()) {
                assertTrue(p.name().startsWith("model.prompt_encoder.default."), p.name());
            }
            return trainable(model);
        }
    }

    @Test
    void prefixConfigTakesTheKeyValueWidthOfAGroupedQueryModel() {
        try (PeftModel model = TinyDecoders.llama(1)) {
            PeftAdapter<PrefixTuningConfig> a = Peft.wrap(model, PrefixTuningConfig.builder().numVirtualTokens(N).build());
            PromptLearningConfig filled = PromptLearning.of(model).config(a.adapterName());
            assertEquals(KV_WIDTH, filled.tokenDim());
            assertEquals(2, filled.numAttentionHeads());
            assertEquals(LAYERS, filled.numLayers());
        }
    }

    /**
     * HF PEFT prepends the virtual tokens to {@code inputs_embeds}; peft4j feeds a decoder their keys and
     * values instead. The reference here is HF's way, run on the bare base model: the two must agree on
     * the real tokens' hidden states (float32; 1e-5 covers the different summation order of attention).
     */
    @Test
    void promptTuningEqualsPrependingTheVirtualTokens() {
        try (PeftModel model = TinyDecoders.llama(2); NDManager step = model.manager().newSubManager()) {
            Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(N).build());
            NDArray ids = step.create(IDS);
            NDArray mask = step.create(new long[][] {{0, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}});
            float[] adapted = TinyDecoders.hidden(model, step, ForwardContext.builder().inputIds(ids).attentionMask(mask).build());

            PromptLearning prompts = PromptLearning.of(model);
            NDArray virtual = ((Module) model.module("model.prompt_encoder.default")).forward(
                    new ParameterStore(model.manager(), false), new NDList(ids), false).singletonOrThrow();
            NDArray words = model.module("model.embed_tokens").forward(new ParameterStore(model.manager(), false),
                    new NDList(ids), false).singletonOrThrow();
            NDArray embeds = virtual.expandDims(0).repeat(0, 2).concat(words, 1);
            NDArray fullMask = step.ones(new ai.djl.ndarray.types.Shape(2, N), mask.getDataType()).concat(mask, 1);
            float[] reference;
            try (AutoCloseable off = prompts.disableAdapters()) {
                reference = model.forward(ForwardContext.builder().inputsEmbeds(embeds).attentionMask(fullMask).build(), false)
                        .lastHiddenState().get(new NDIndex(":, " + N + ":, :")).toFloatArray();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            assertEquals(reference.length, adapted.length);
            for (int i = 0; i < reference.length; i++) {
                assertEquals(reference[i], adapted[i], 1e-5, "element " + i);
            }
        }
    }

    @Test
    void onlyTheMethodsParametersGetGradients() {
        for (PeftConfig config : List.<PeftConfig>of(PromptTuningConfig.builder().numVirtualTokens(N).build(),
                PTuningConfig.builder().numVirtualTokens(N).encoderHiddenSize(8)
                        .encoderReparameterizationType(EncoderReparameterizationType.LSTM).build(),
                PrefixTuningConfig.builder().numVirtualTokens(N).prefixProjection(true).encoderHiddenSize(8).build())) {
            try (PeftModel model = TinyDecoders.llama(3); NDManager step = model.manager().newSubManager()) {
                Peft.wrap(model, config);
                TinyDecoders.lossAndBackward(model, step, IDS);
                for (NamedParameter p : model.namedParameters()) {
                    boolean method = p.name().startsWith("model.prompt_encoder.default.");
                    assertEquals(method, p.isTrainable(), p.name());
                    if (method) {
                        float[] g = p.parameter().getArray().getGradient().toFloatArray();
                        double norm = 0;
                        for (float v : g) {
                            norm += v * v;
                        }
                        assertTrue(norm > 0, config.peftType() + ": no gradient reached " + p.name());
                    }
                }
            }
        }
    }

    /** Generation with the key/value cache must choose the same tokens as rerunning every prefix. */
    @Test
    void cachedGenerationEqualsUncachedWithEachMethod() {
        for (PeftConfig config : List.<PeftConfig>of(PromptTuningConfig.builder().numVirtualTokens(N).build(),
                PrefixTuningConfig.builder().numVirtualTokens(N).build())) {
            for (PeftModel model : List.of(TinyDecoders.llama(4), TinyDecoders.gpt2(4, 32, 2, 4))) {
                try (model) {
                    Peft.wrap(model, config);
                    long[][] prompts = {{1, 5, 9}, {4, 8, 15, 16, 23}};
                    GenerationConfig greedy = GenerationConfig.greedy(8);
                    long[][] cached = Generator.builder(model).config(greedy).useCache(true).build().generate(prompts).padded(0);
                    long[][] uncached = Generator.builder(model).config(greedy).useCache(false).build().generate(prompts).padded(0);
                    assertArrayEquals(uncached, cached, config.peftType() + " on " + model.architecture());
                }
            }
        }
    }

    @Test
    void savedThenLoadedGivesBitIdenticalOutputsWithoutAnEncoder(@TempDir Path dir) throws Exception {
        List<PeftConfig> configs = List.of(PromptTuningConfig.builder().numVirtualTokens(N).build(),
                PTuningConfig.builder().numVirtualTokens(N).encoderHiddenSize(8).build(),
                PrefixTuningConfig.builder().numVirtualTokens(N).prefixProjection(true).encoderHiddenSize(8).build());
        int k = 0;
        for (PeftConfig config : configs) {
            Path out = dir.resolve("adapter-" + k++);
            float[] before;
            try (PeftModel model = TinyDecoders.llama(5); NDManager step = model.manager().newSubManager()) {
                Peft.wrap(model, config).save(out);
                before = TinyDecoders.hidden(model, step, ForwardContext.builder().inputIds(step.create(IDS)).build());
            }
            try (PeftModel fresh = TinyDecoders.llama(5); NDManager step = fresh.manager().newSubManager()) {
                float[] base = TinyDecoders.hidden(fresh, step, ForwardContext.builder().inputIds(step.create(IDS)).build());
                Peft.load(fresh, out);
                float[] after = TinyDecoders.hidden(fresh, step, ForwardContext.builder().inputIds(step.create(IDS)).build());
                assertArrayEquals(before, after, config.peftType());
                assertFalse(java.util.Arrays.equals(base, after), "the adapter changes the output");
                // Loaded for inference: one frozen table, no encoder.
                List<String> names = fresh.namedParameters().stream().map(NamedParameter::name)
                        .filter(n -> n.startsWith("model.prompt_encoder.")).toList();
                assertEquals(List.of("model.prompt_encoder.default.embedding.weight"), names);
                assertEquals(0, trainable(fresh));
            }
        }
    }

    @Test
    void eachAdapterGivesItsOwnOutputAndUnloadRestoresTheBase() throws Exception {
        try (PeftModel model = TinyDecoders.llama(6); NDManager step = model.manager().newSubManager()) {
            ForwardContext ctx = ForwardContext.builder().inputIds(step.create(IDS)).build();
            Module base = model.module("model");
            float[] plain = TinyDecoders.hidden(model, step, ctx);
            Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(N).build(), "a");
            float[] a = TinyDecoders.hidden(model, step, ctx);
            Peft.wrap(model, PrefixTuningConfig.builder().numVirtualTokens(3).build(), "b");
            float[] b = TinyDecoders.hidden(model, step, ctx);
            PromptLearning prompts = PromptLearning.of(model);
            assertEquals(List.of("a", "b"), prompts.adapterNames());
            assertNotEquals(java.util.Arrays.hashCode(a), java.util.Arrays.hashCode(b));
            prompts.setAdapter("a");
            assertArrayEquals(a, TinyDecoders.hidden(model, step, ctx));
            try (AutoCloseable off = prompts.disableAdapters()) {
                assertArrayEquals(plain, TinyDecoders.hidden(model, step, ctx));
            }
            prompts.deleteAdapter("a");
            assertEquals("b", prompts.activeAdapter());
            assertArrayEquals(b, TinyDecoders.hidden(model, step, ctx));
            prompts.unload();
            assertTrue(model.module("model") == base && model.module("model") instanceof LlamaModel);
            assertArrayEquals(plain, TinyDecoders.hidden(model, step, ctx));
            assertTrue(model.adapters().isEmpty());
        }
    }
}

package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.DynamicKeyValueCache;
import io.peft4j.core.model.ForwardContext;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Small random Llama-family models written as transformers directories, loaded, and compared with a
 * plain-Java double-precision forward written here from transformers' modeling code (explicit loops:
 * per-head rotate-half RoPE, repeat_kv by index, softmax over earlier positions). Covers what
 * stories260K does not: Qwen2's q/k/v biases, attention and MLP biases, an untied head, a head_dim
 * that is not hidden/heads, and linear and llama3 RoPE scaling.
 */
class LlamaReferenceForwardTest {
    /** Float32 against float64 on values of order 1 through two layers. */
    private static final double TOLERANCE = 2e-4;
    private static final long[] IDS = {3, 17, 5, 29, 0, 11, 8};

    @TempDir
    Path dir;

    @Test
    void qwen2WithQkvBiasUntiedHeadAndLlama3Rope() throws Exception {
        LlamaConfig c = LlamaConfig.builder().modelType("qwen2").qkvBias(true).vocabSize(32).hiddenSize(12).intermediateSize(20)
                .numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).headDim(4).rmsNormEps(1e-6f).ropeTheta(500f)
                .ropeScaling(RopeScaling.llama3(4f, 1f, 4f, 16)).maxPositionEmbeddings(64).tieWordEmbeddings(false).build();
        check(c, 11);
    }

    @Test
    void llamaWithAttentionAndMlpBiasTiedHeadAndLinearRope() throws Exception {
        LlamaConfig c = LlamaConfig.builder().modelType("llama").attentionBias(true).mlpBias(true).vocabSize(32).hiddenSize(16)
                .intermediateSize(24).numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(1).rmsNormEps(1e-5f)
                .ropeTheta(10000f).ropeScaling(RopeScaling.linear(2f)).maxPositionEmbeddings(64).tieWordEmbeddings(true).build();
        check(c, 12);
    }

    /** Seven positions past max_position_embeddings 4: the base grows as transformers' dynamic NTK rule says. */
    @Test
    void llamaWithDynamicRopePastMaxPositions() throws Exception {
        LlamaConfig c = LlamaConfig.builder().modelType("llama").vocabSize(32).hiddenSize(16).intermediateSize(24)
                .numHiddenLayers(2).numAttentionHeads(2).numKeyValueHeads(2).ropeTheta(100f)
                .ropeScaling(RopeScaling.dynamic(2f)).maxPositionEmbeddings(4).tieWordEmbeddings(false).build();
        check(c, 13);
    }

    /** Mistral slides every layer: position i sees keys i-2..i with sliding_window 3 (transformers' kv > q - window). */
    @Test
    void mistralSlidingWindowOnEveryLayer() throws Exception {
        LlamaConfig c = LlamaConfig.builder().modelType("mistral").vocabSize(32).hiddenSize(8).intermediateSize(8)
                .numHiddenLayers(2).numAttentionHeads(2).numKeyValueHeads(1).slidingWindow(3).maxPositionEmbeddings(64)
                .tieWordEmbeddings(false).build();
        check(c, 14, new Integer[] {3, 3});
    }

    /**
     * Qwen2 with use_sliding_window slides only the layers from max_window_layers on (transformers'
     * Qwen2Config layer_types): here layer 1, layer 0 attends to every earlier key. The config goes
     * through config.json, so its fields are read back as transformers writes them.
     */
    @Test
    void qwen2SlidesOnlyTheLayersFromMaxWindowLayers() throws Exception {
        LlamaConfig c = LlamaConfig.builder().modelType("qwen2").qkvBias(true).vocabSize(32).hiddenSize(8).intermediateSize(8)
                .numHiddenLayers(2).numAttentionHeads(2).numKeyValueHeads(1).slidingWindow(2).maxWindowLayers(1)
                .maxPositionEmbeddings(64).tieWordEmbeddings(false).build();
        check(c, 15, new Integer[] {null, 2});
    }

    /**
     * Decoding token by token through the cache, far past the window, gives the logits of one uncached
     * pass: the cache keeps every key and the mask hides those out of the window.
     */
    @Test
    void cachedDecodingPastTheWindowEqualsOnePass() {
        LlamaConfig c = LlamaConfig.builder().modelType("mistral").vocabSize(32).hiddenSize(8).intermediateSize(8)
                .numHiddenLayers(2).numAttentionHeads(2).numKeyValueHeads(1).slidingWindow(3).maxPositionEmbeddings(64).build();
        try (PeftModel model = Llama.randomCausalLm(c, "tiny-mistral"); NDManager m = model.manager().newSubManager();
                DynamicKeyValueCache cache = new DynamicKeyValueCache()) {
            LlamaForCausalLM lm = (LlamaForCausalLM) model.root();
            ForwardContext whole = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
            float[] want = lm.logits(new ParameterStore(m, false), whole, false).logits().toFloatArray();
            for (int t = 0; t < IDS.length; t++) {
                try (NDManager s = m.newSubManager()) {
                    ForwardContext one = ForwardContext.builder().inputIds(s.create(new long[] {IDS[t]}, new Shape(1, 1)))
                            .keyValueCache(cache).build();
                    float[] got = lm.logits(new ParameterStore(s, false), one, false).logits().toFloatArray();
                    for (int v = 0; v < c.vocabSize(); v++) {
                        // The same float32 operations on one row instead of seven: rounding only.
                        assertEquals(want[t * c.vocabSize() + v], got[v], 1e-5, "position " + t + " logit " + v);
                    }
                }
            }
        }
    }

    private void check(LlamaConfig c, long seed) throws Exception {
        check(c, seed, new Integer[c.numHiddenLayers()]);
    }

    private void check(LlamaConfig c, long seed, Integer[] windows) throws Exception {
        Random r = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, double[]> w = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : LlamaCheckpoint.expectedShapes(c).entrySet()) {
            float[] v = new float[(int) Tensor.numel(e.getValue())];
            boolean norm = e.getKey().endsWith("layernorm.weight") || e.getKey().equals("model.norm.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (norm ? 1 + 0.2 * r.nextGaussian() : 0.3 * r.nextGaussian());
            }
            tensors.put(e.getKey(), Tensor.ofFloats(v, e.getValue()));
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i];
            }
            w.put(e.getKey(), d);
        }
        ShardedSafeTensors.writeSharded(dir, tensors, 4096);
        AtomicFiles.writeString(dir.resolve("config.json"), c.toJson());
        double[][] want = ReferenceLlama.logits(c, w, IDS, windows);
        try (PeftModel model = Llama.causalLm(dir, "random-" + c.modelType()); NDManager m = model.manager().newSubManager()) {
            ForwardContext ctx = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
            float[] got = ((LlamaForCausalLM) model.root()).logits(new ParameterStore(m, false), ctx, false).logits().toFloatArray();
            for (int t = 0; t < IDS.length; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    assertEquals(want[t][v], got[t * c.vocabSize() + v], TOLERANCE, c.modelType() + " position " + t + " logit " + v);
                }
            }
        }
    }
}

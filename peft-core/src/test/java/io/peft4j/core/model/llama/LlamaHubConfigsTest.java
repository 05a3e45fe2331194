package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The config.json of SmolLM-135M and of TinyLlama-1.1B as the Hugging Face hub has them, every field kept
 * (those peft4j ignores too: {@code pretraining_tp}, {@code torch_dtype}, {@code initializer_range},
 * {@code use_cache}, ...), shrunk in size only (fewer layers, a smaller hidden size with the same head
 * counts, a smaller vocabulary) so that a test writes random weights for them. The weights are written in
 * bfloat16, as both models ship ({@code torch_dtype: bfloat16}), sharded as the hub shards, and the logits
 * are checked against ReferenceLlama's float64 forward of the bfloat16 values, which this test rounds
 * itself (round to nearest even on the float32 bits, as torch does). Tolerance: float32 against float64
 * through two layers on values of order one, as LlamaReferenceForwardTest: 2e-4.
 */
class LlamaHubConfigsTest {
    private static final double TOLERANCE = 2e-4;
    private static final long[] IDS = {0, 7, 3, 42, 11, 5, 29, 1};
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** HuggingFaceTB/SmolLM-135M: hidden 576 -> 36 (9 heads of 4), 30 layers -> 2, intermediate 1536 -> 48, vocab 49152 -> 64. */
    @Test
    void smolLm135mConfig() throws Exception {
        String config = "{\n"
                + "  \"architectures\": [\"LlamaForCausalLM\"],\n"
                + "  \"attention_bias\": false,\n"
                + "  \"attention_dropout\": 0.0,\n"
                + "  \"bos_token_id\": 0,\n"
                + "  \"eos_token_id\": 0,\n"
                + "  \"hidden_act\": \"silu\",\n"
                + "  \"hidden_size\": 36,\n"
                + "  \"initializer_range\": 0.02,\n"
                + "  \"intermediate_size\": 48,\n"
                + "  \"max_position_embeddings\": 2048,\n"
                + "  \"model_type\": \"llama\",\n"
                + "  \"num_attention_heads\": 9,\n"
                + "  \"num_hidden_layers\": 2,\n"
                + "  \"num_key_value_heads\": 3,\n"
                + "  \"pretraining_tp\": 1,\n"
                + "  \"rms_norm_eps\": 1e-05,\n"
                + "  \"rope_scaling\": null,\n"
                + "  \"rope_theta\": 10000.0,\n"
                + "  \"tie_word_embeddings\": true,\n"
                + "  \"torch_dtype\": \"bfloat16\",\n"
                + "  \"transformers_version\": \"4.40.1\",\n"
                + "  \"use_cache\": true,\n"
                + "  \"vocab_size\": 64\n"
                + "}\n";
        LlamaConfig c = check(config, 21);
        assertEquals(4, c.headDim(), "head_dim is hidden_size / num_attention_heads when absent");
        assertEquals(3, c.numKeyValueHeads());
    }

    /** TinyLlama/TinyLlama-1.1B-Chat-v1.0: hidden 2048 -> 64 (32 heads of 2), 22 layers -> 2, intermediate 5632 -> 176, vocab 32000 -> 96. */
    @Test
    void tinyLlama11bConfig() throws Exception {
        String config = "{\n"
                + "  \"_name_or_path\": \"TinyLlama/TinyLlama-1.1B-Chat-v1.0\",\n"
                + "  \"architectures\": [\"LlamaForCausalLM\"],\n"
                + "  \"attention_bias\": false,\n"
                + "  \"bos_token_id\": 1,\n"
                + "  \"eos_token_id\": 2,\n"
                + "  \"hidden_act\": \"silu\",\n"
                + "  \"hidden_size\": 64,\n"
                + "  \"initializer_range\": 0.02,\n"
                + "  \"intermediate_size\": 176,\n"
                + "  \"max_position_embeddings\": 2048,\n"
                + "  \"model_type\": \"llama\",\n"
                + "  \"num_attention_heads\": 32,\n"
                + "  \"num_hidden_layers\": 2,\n"
                + "  \"num_key_value_heads\": 4,\n"
                + "  \"pretraining_tp\": 1,\n"
                + "  \"rms_norm_eps\": 1e-05,\n"
                + "  \"rope_scaling\": null,\n"
                + "  \"rope_theta\": 10000.0,\n"
                + "  \"tie_word_embeddings\": false,\n"
                + "  \"torch_dtype\": \"bfloat16\",\n"
                + "  \"transformers_version\": \"4.35.0\",\n"
                + "  \"use_cache\": true,\n"
                + "  \"vocab_size\": 96\n"
                + "}\n";
        LlamaConfig c = check(config, 22);
        assertEquals(2, c.headDim());
        assertEquals(1e-5f, c.rmsNormEps());
    }

    private LlamaConfig check(String configJson, long seed) throws Exception {
        Files.writeString(dir.resolve("config.json"), configJson);
        LlamaConfig c = LlamaConfig.fromJson(dir.resolve("config.json"));
        ObjectNode parsed = (ObjectNode) JSON.readTree(configJson);
        assertEquals(parsed.get("num_attention_heads").asInt(), c.numAttentionHeads());
        Random r = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, double[]> w = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : LlamaCheckpoint.expectedShapes(c).entrySet()) {
            int n = (int) Tensor.numel(e.getValue());
            boolean norm = e.getKey().endsWith("norm.weight");
            ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                short bits = toBf16((float) (norm ? 1 + 0.2 * r.nextGaussian() : 0.3 * r.nextGaussian()));
                b.putShort(bits);
                d[i] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
            }
            b.flip();
            tensors.put(e.getKey(), new Tensor(DType.BF16, e.getValue(), b));
            w.put(e.getKey(), d);
        }
        ShardedSafeTensors.writeSharded(dir, tensors, 16_384);
        double[][] want = ReferenceLlama.logits(c, w, IDS);
        try (PeftModel model = ModelFamilies.loadBaseModel(dir, "hub-config"); NDManager m = model.manager().newSubManager()) {
            ForwardContext ctx = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
            float[] got = ((LlamaForCausalLM) model.root()).logits(new ParameterStore(m, false), ctx, false).logits().toFloatArray();
            for (int t = 0; t < IDS.length; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    assertEquals(want[t][v], got[t * c.vocabSize() + v], TOLERANCE, "position " + t + " logit " + v);
                }
            }
        }
        return c;
    }

    /** float32 to bfloat16 bits, round to nearest, ties to even (finite values only, as here). */
    private static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}

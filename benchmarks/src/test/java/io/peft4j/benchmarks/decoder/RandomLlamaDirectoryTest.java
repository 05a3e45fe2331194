package io.peft4j.benchmarks.decoder;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.llama.LlamaCheckpoint;
import io.peft4j.core.model.llama.LlamaConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The random checkpoints the decoder benchmark writes are read back by peft-core's own safetensors and
 * Llama checkpoint readers (which check every name and shape against config.json), and their values
 * are decoded here from the raw bytes.
 */
class RandomLlamaDirectoryTest {
    /** A Qwen2-style config (q/k/v biases, tied head) small enough to write in milliseconds. */
    private static final LlamaConfig QWEN2 = LlamaConfig.builder().modelType("qwen2").vocabSize(256).hiddenSize(64)
            .intermediateSize(128).numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).qkvBias(true)
            .tieWordEmbeddings(true).maxPositionEmbeddings(128).build();

    @TempDir
    Path tmp;

    @Test
    void bf16RoundsToNearestEvenAsPyTorch() {
        // Closed-form cases: bfloat16 keeps 7 fraction bits, so 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
        assertEquals(0x3F80, RandomLlamaDirectory.bf16(1f) & 0xFFFF);
        assertEquals(0xC000, RandomLlamaDirectory.bf16(-2f) & 0xFFFF);
        assertEquals(0x3F80, RandomLlamaDirectory.bf16(1f + 0x1p-8f) & 0xFFFF, "tie goes to the even 0x3F80");
        assertEquals(0x3F82, RandomLlamaDirectory.bf16(1f + 3 * 0x1p-8f) & 0xFFFF, "tie goes to the even 0x3F82");
        assertEquals(0x3F81, RandomLlamaDirectory.bf16(Float.intBitsToFloat(0x3F808001)) & 0xFFFF, "just above halfway rounds up");
        assertEquals(0xBF81, RandomLlamaDirectory.bf16(Float.intBitsToFloat(0xBF808001)) & 0xFFFF, "negative: magnitude rounds up");
    }

    @Test
    void writesAShardedBf16DirectoryThatTheLlamaLoaderAccepts() throws Exception {
        Path dir = RandomLlamaDirectory.ensure(tmp, "qwen2", QWEN2, DType.BF16, 40_000, 7);
        assertTrue(Files.isRegularFile(dir.resolve(ShardedSafeTensors.INDEX_FILE)));
        assertFalse(Files.exists(dir.resolve(ShardedSafeTensors.SINGLE_FILE)));
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 1);
        }
        LlamaCheckpoint ckpt = LlamaCheckpoint.read(dir);
        assertEquals("qwen2", ckpt.config().modelType());
        Map<String, Tensor> tensors = ckpt.tensors();
        assertEquals(LlamaCheckpoint.expectedShapes(QWEN2).keySet(), tensors.keySet());
        for (Tensor t : tensors.values()) {
            assertEquals(DType.BF16, t.dtype());
        }
        for (float v : values(tensors.get("model.layers.1.post_attention_layernorm.weight"))) {
            assertEquals(1f, v);
        }
        for (float v : values(tensors.get("model.layers.0.self_attn.k_proj.bias"))) {
            assertEquals(0f, v);
        }
        // normal(0, 0.02) over 256 x 64 = 16384 values: the sample std's own standard error is
        // 0.02 / sqrt(2n) = 1.1e-4 (0.55 %) and the mean's 0.02 / sqrt(n) = 1.6e-4; bfloat16's rounding
        // (2^-9 relative) is far below both. Tolerances are several standard errors wide.
        float[] embed = values(tensors.get("model.embed_tokens.weight"));
        double mean = 0;
        for (float v : embed) {
            mean += v;
        }
        mean /= embed.length;
        double var = 0;
        for (float v : embed) {
            var += (v - mean) * (v - mean);
        }
        assertEquals(0, mean, 1e-3);
        assertEquals(0.02, Math.sqrt(var / (embed.length - 1)), 0.02 * 0.05);
    }

    @Test
    void valuesDoNotDependOnShardingAndFloat32HoldsTheUnroundedValues() throws Exception {
        Path single = RandomLlamaDirectory.ensure(tmp, "single", QWEN2, DType.BF16, RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES, 7);
        Path sharded = RandomLlamaDirectory.ensure(tmp, "sharded", QWEN2, DType.BF16, 40_000, 7);
        Path f32 = RandomLlamaDirectory.ensure(tmp, "f32", QWEN2, DType.F32, RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES, 7);
        assertTrue(Files.isRegularFile(single.resolve(ShardedSafeTensors.SINGLE_FILE)));
        String name = "model.layers.1.mlp.down_proj.weight";
        float[] a = values(LlamaCheckpoint.read(single).tensors().get(name));
        float[] b = values(LlamaCheckpoint.read(sharded).tensors().get(name));
        float[] c = LlamaCheckpoint.read(f32).tensors().get(name).toFloatArray();
        assertArrayEquals(a, b);
        for (int i = 0; i < a.length; i++) {
            // bfloat16 keeps 8 of float32's 24 significant bits: rounding moves a value by at most half
            // a bfloat16 unit in the last place, 2^15 float32 units.
            assertEquals(c[i], a[i], Math.ulp(c[i]) * 0x1p15f);
        }
    }

    @Test
    void reusesADirectoryOfTheSameConfigAndRewritesOneOfAnother() throws Exception {
        Path dir = RandomLlamaDirectory.ensure(tmp, "m", QWEN2, DType.BF16, RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES, 7);
        Path file = dir.resolve(ShardedSafeTensors.SINGLE_FILE);
        FileTime old = FileTime.fromMillis(0);
        Files.setLastModifiedTime(file, old);
        RandomLlamaDirectory.ensure(tmp, "m", QWEN2, DType.BF16, RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES, 7);
        assertEquals(old, Files.getLastModifiedTime(file), "same config and dtype: reused, not rewritten");
        RandomLlamaDirectory.ensure(tmp, "m", QWEN2, DType.F32, RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES, 7);
        assertEquals(DType.F32, LlamaCheckpoint.read(dir).tensors().get("model.norm.weight").dtype());
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(1, left.count(), "no temporary directory left behind");
        }
    }

    @Test
    void parameterCountMatchesTheClosedForm() {
        long h = 64;
        long kv = 2 * 16;
        long perLayer = (h * h + h) + 2 * (kv * h + kv) + h * h + 3 * h * 128 + 2 * h;
        assertEquals(256 * h + 2 * perLayer + h, RandomLlamaDirectory.parameterCount(QWEN2));
    }

    /** bfloat16 values decoded from the raw little-endian bytes: the top half of a float32. */
    private static float[] values(Tensor t) {
        ByteBuffer data = t.data().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) t.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat((data.getShort(data.position() + 2 * i) & 0xFFFF) << 16);
        }
        return out;
    }
}

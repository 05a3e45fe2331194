package io.peft4j.core.model.gpt2;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes a GPT-2 transformers directory of random weights ({@code config.json} + safetensors, keys as
 * {@code GPT2LMHeadModel} saves them or bare as old checkpoints do, optionally the {@code attn.bias}
 * mask buffers old checkpoints carry) and keeps the same weights in float64 for {@link ReferenceGpt2}.
 */
final class RandomGpt2Directory {
    /** The weights written, float64, under {@code GPT2LMHeadModel} names. */
    final Map<String, double[]> weights = new LinkedHashMap<>();

    private RandomGpt2Directory() {}

    /** @param maxShardBytes shard size for a sharded checkpoint with its index, or 0 for one {@code model.safetensors} */
    static RandomGpt2Directory write(Path dir, Gpt2Config c, long seed, boolean bareKeys, boolean maskBuffers, long maxShardBytes)
            throws IOException {
        RandomGpt2Directory out = new RandomGpt2Directory();
        Random r = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : Gpt2Checkpoint.expectedShapes(c).entrySet()) {
            String name = e.getKey();
            float[] v = new float[(int) Tensor.numel(e.getValue())];
            boolean gain = name.contains("ln_") && name.endsWith(".weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (gain ? 1 + 0.2 * r.nextGaussian() : 0.3 * r.nextGaussian());
            }
            String key = bareKeys && name.startsWith(Gpt2Checkpoint.PREFIX) ? name.substring(Gpt2Checkpoint.PREFIX.length()) : name;
            tensors.put(key, Tensor.ofFloats(v, e.getValue()));
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i];
            }
            out.weights.put(name, d);
        }
        if (maskBuffers) {
            int n = c.nPositions();
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                String pre = (bareKeys ? "" : Gpt2Checkpoint.PREFIX) + "h." + l + ".attn.";
                tensors.put(pre + "bias", Tensor.ofFloats(new float[n * n], 1, 1, n, n));
                tensors.put(pre + "masked_bias", Tensor.ofFloats(new float[] {-1e4f}));
            }
        }
        if (maxShardBytes > 0) {
            ShardedSafeTensors.writeSharded(dir, tensors, maxShardBytes);
        } else {
            SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), tensors);
        }
        AtomicFiles.writeString(dir.resolve("config.json"), c.toJson());
        return out;
    }
}

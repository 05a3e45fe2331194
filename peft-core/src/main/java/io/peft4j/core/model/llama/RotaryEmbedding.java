package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in transformers' rotate-half layout: channel {@code i} of a head pairs
 * with channel {@code i + headDim/2}, both turned by {@code position * inv_freq[i]}. The inverse
 * frequencies follow {@code rope_theta} and {@code rope_scaling} as transformers'
 * {@code ROPE_INIT_FUNCTIONS} compute them.
 */
final class RotaryEmbedding {
    private final LlamaConfig config;
    private final float[] invFreq;

    RotaryEmbedding(LlamaConfig config) {
        this.config = config;
        this.invFreq = inverseFrequencies(config, config.ropeTheta());
    }

    /** transformers' default {@code 1 / base^(2i/d)}, computed as it does in float32, then scaled. */
    static float[] inverseFrequencies(LlamaConfig c, double base) {
        int d = c.headDim();
        float[] inv = new float[d / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / Math.pow(base, (float) (2 * i) / d));
        }
        RopeScaling s = c.ropeScaling();
        if (s != null && s.type() == RopeScaling.Type.LINEAR) {
            for (int i = 0; i < inv.length; i++) {
                inv[i] /= s.factor();
            }
        } else if (s != null && s.type() == RopeScaling.Type.LLAMA3) {
            llama3(inv, s);
        }
        return inv;
    }

    /** transformers' {@code _compute_llama3_parameters}: long wavelengths slowed by the factor, short ones kept, a blend between. */
    private static void llama3(float[] inv, RopeScaling s) {
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / s.factor();
            } else if (wavelen >= highWavelen) {
                double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                inv[i] = (float) ((1 - smooth) * inv[i] / s.factor() + smooth * inv[i]);
            }
        }
    }

    /**
     * {@code [cos, sin]}, each {@code [B or 1, 1, T, headDim]}, for int64 positions {@code [B or 1, T]},
     * in {@code positions}' manager.
     *
     * @param seqLen the longest sequence the positions belong to (past + current): dynamic scaling
     *     grows the base once it exceeds {@code max_position_embeddings}
     */
    NDList cosSin(NDArray positions, long seqLen) {
        float[] inv = invFreq;
        RopeScaling s = config.ropeScaling();
        if (s != null && s.type() == RopeScaling.Type.DYNAMIC && seqLen > config.maxPositionEmbeddings()) {
            int d = config.headDim();
            double base = config.ropeTheta() * Math.pow(
                    s.factor() * seqLen / config.maxPositionEmbeddings() - (s.factor() - 1), (double) d / (d - 2));
            inv = inverseFrequencies(config, base);
        }
        NDManager m = positions.getManager();
        NDArray p = positions.toType(DataType.FLOAT32, false).expandDims(-1);
        NDArray freqs = p.mul(m.create(inv, new Shape(inv.length)));
        NDArray emb = freqs.concat(freqs, -1).expandDims(1);
        return new NDList(emb.cos(), emb.sin());
    }

    /** {@code x * cos + rotate_half(x) * sin} for {@code x [B, heads, T, headDim]}. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        long half = x.getShape().get(3) / 2;
        NDArray x1 = x.get(":, :, :, :" + half);
        NDArray x2 = x.get(":, :, :, " + half + ":");
        NDArray rotated = x2.neg().concat(x1, -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}

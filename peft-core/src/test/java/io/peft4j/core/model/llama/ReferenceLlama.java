package io.peft4j.core.model.llama;

import java.util.Map;

/**
 * transformers' Llama forward in double precision with plain loops, for one sequence at positions
 * {@code 0..T-1}: the reference the model's NDArray forward is tested against. Written from
 * {@code modeling_llama.py} and {@code modeling_rope_utils.py}, sharing no code with the model.
 */
final class ReferenceLlama {
    private ReferenceLlama() {}

    static double[][] logits(LlamaConfig c, Map<String, double[]> w, long[] ids) {
        return logits(c, w, ids, new Integer[c.numHiddenLayers()]);
    }

    /**
     * @param windows per layer, null for full causal attention, or the sliding window: position {@code i}
     *     attends to {@code j} with {@code i - window < j <= i} (transformers' {@code sliding_window_overlay})
     */
    static double[][] logits(LlamaConfig c, Map<String, double[]> w, long[] ids, Integer[] windows) {
        int t = ids.length;
        int h = c.hiddenSize();
        int d = c.headDim();
        int heads = c.numAttentionHeads();
        int kvHeads = c.numKeyValueHeads();
        double[][] x = new double[t][h];
        for (int i = 0; i < t; i++) {
            System.arraycopy(w.get("model.embed_tokens.weight"), (int) ids[i] * h, x[i], 0, h);
        }
        double[] inv = inverseFrequencies(c, t);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] n = rmsNorm(x, w.get(p + "input_layernorm.weight"), c.rmsNormEps());
            double[][] q = linear(n, w, p + "self_attn.q_proj", heads * d);
            double[][] k = linear(n, w, p + "self_attn.k_proj", kvHeads * d);
            double[][] v = linear(n, w, p + "self_attn.v_proj", kvHeads * d);
            rope(q, heads, d, inv);
            rope(k, kvHeads, d, inv);
            double[][] ctx = new double[t][heads * d];
            for (int hd = 0; hd < heads; hd++) {
                int kvh = hd / (heads / kvHeads);
                for (int i = 0; i < t; i++) {
                    int from = windows[l] == null ? 0 : Math.max(0, i - windows[l] + 1);
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = from; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += q[i][hd * d + e] * k[j][kvh * d + e];
                        }
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = from; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = from; j <= i; j++) {
                        for (int e = 0; e < d; e++) {
                            ctx[i][hd * d + e] += s[j] / sum * v[j][kvh * d + e];
                        }
                    }
                }
            }
            add(x, linear(ctx, w, p + "self_attn.o_proj", h));
            double[][] n2 = rmsNorm(x, w.get(p + "post_attention_layernorm.weight"), c.rmsNormEps());
            double[][] g = linear(n2, w, p + "mlp.gate_proj", c.intermediateSize());
            double[][] u = linear(n2, w, p + "mlp.up_proj", c.intermediateSize());
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < g[i].length; j++) {
                    g[i][j] = g[i][j] / (1 + Math.exp(-g[i][j])) * u[i][j];
                }
            }
            add(x, linear(g, w, p + "mlp.down_proj", h));
        }
        double[][] out = rmsNorm(x, w.get("model.norm.weight"), c.rmsNormEps());
        String head = c.tieWordEmbeddings() ? "model.embed_tokens" : "lm_head";
        return linear(out, w, head, c.vocabSize());
    }

    private static double[] inverseFrequencies(LlamaConfig c, int seqLen) {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        RopeScaling s = c.ropeScaling();
        double base = c.ropeTheta();
        if (s != null && s.type() == RopeScaling.Type.DYNAMIC && seqLen > c.maxPositionEmbeddings()) {
            // modeling_rope_utils._compute_dynamic_ntk_parameters
            base *= Math.pow(s.factor() * seqLen / c.maxPositionEmbeddings() - (s.factor() - 1), d / (d - 2.0));
        }
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(base, -2.0 * i / d);
            if (s != null && s.type() == RopeScaling.Type.LINEAR) {
                inv[i] /= s.factor();
            } else if (s != null && s.type() == RopeScaling.Type.LLAMA3) {
                double wavelen = 2 * Math.PI / inv[i];
                double old = s.originalMaxPositionEmbeddings();
                if (wavelen > old / s.lowFreqFactor()) {
                    inv[i] /= s.factor();
                } else if (wavelen >= old / s.highFreqFactor()) {
                    double smooth = (old / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    /** Rotate-half: channel e pairs with e + d/2 in each head, turned by position * inv[e]. */
    private static void rope(double[][] x, int heads, int d, double[] inv) {
        int half = d / 2;
        for (int pos = 0; pos < x.length; pos++) {
            for (int hd = 0; hd < heads; hd++) {
                for (int e = 0; e < half; e++) {
                    double a = x[pos][hd * d + e];
                    double b = x[pos][hd * d + e + half];
                    double cos = Math.cos(pos * inv[e]);
                    double sin = Math.sin(pos * inv[e]);
                    x[pos][hd * d + e] = a * cos - b * sin;
                    x[pos][hd * d + e + half] = b * cos + a * sin;
                }
            }
        }
    }

    private static double[][] rmsNorm(double[][] x, double[] weight, double eps) {
        double[][] out = new double[x.length][x[0].length];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) {
                ms += v * v;
            }
            double scale = 1 / Math.sqrt(ms / x[i].length + eps);
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = weight[j] * x[i][j] * scale;
            }
        }
        return out;
    }

    /** {@code x W^T + b} with {@code W} stored {@code [out, in]}; no bias when the checkpoint has none. */
    private static double[][] linear(double[][] x, Map<String, double[]> w, String name, int out) {
        double[] weight = w.get(name + ".weight");
        double[] bias = w.get(name + ".bias");
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int j = 0; j < in; j++) {
                    s += x[i][j] * weight[o * in + j];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }
}

package io.peft4j.core.model.gpt2;

import java.util.Map;

/**
 * A plain-Java float64 forward of transformers' {@code GPT2LMHeadModel}, written from its modeling code
 * with explicit loops and sharing nothing with the DJL model: learned positions, pre-LayerNorm blocks,
 * {@code Conv1D} as {@code x W + b} with {@code W [in, out]}, fused q/k/v split along the output axis,
 * causal softmax per head, the tanh GELU, and logits against {@code wte} (tied) or {@code lm_head}.
 * Weight names are {@code GPT2LMHeadModel}'s.
 */
final class ReferenceGpt2 {
    private ReferenceGpt2() {}

    /** Logits {@code [T][vocab]} of one sequence of ids at positions 0..T-1. */
    static double[][] logits(Gpt2Config c, Map<String, double[]> w, long[] ids) {
        int t = ids.length;
        int h = c.hiddenSize();
        double[][] x = new double[t][h];
        double[] wte = w.get("transformer.wte.weight");
        double[] wpe = w.get("transformer.wpe.weight");
        for (int p = 0; p < t; p++) {
            for (int j = 0; j < h; j++) {
                x[p][j] = wte[(int) ids[p] * h + j] + wpe[p * h + j];
            }
        }
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String pre = "transformer.h." + l + ".";
            double[][] a = layerNorm(x, w.get(pre + "ln_1.weight"), w.get(pre + "ln_1.bias"), c.layerNormEpsilon());
            double[][] qkv = conv1d(a, w.get(pre + "attn.c_attn.weight"), w.get(pre + "attn.c_attn.bias"), 3 * h);
            double scale = (c.scaleAttnWeights() ? 1 / Math.sqrt(c.headDim()) : 1) / (c.scaleAttnByInverseLayerIdx() ? l + 1 : 1);
            double[][] ctx = attention(qkv, t, h, c.nHead(), scale);
            add(x, conv1d(ctx, w.get(pre + "attn.c_proj.weight"), w.get(pre + "attn.c_proj.bias"), h));
            double[][] m = layerNorm(x, w.get(pre + "ln_2.weight"), w.get(pre + "ln_2.bias"), c.layerNormEpsilon());
            double[][] f = conv1d(m, w.get(pre + "mlp.c_fc.weight"), w.get(pre + "mlp.c_fc.bias"), c.nInner());
            for (double[] row : f) {
                for (int j = 0; j < row.length; j++) {
                    double v = row[j];
                    row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                }
            }
            add(x, conv1d(f, w.get(pre + "mlp.c_proj.weight"), w.get(pre + "mlp.c_proj.bias"), h));
        }
        double[][] hidden = layerNorm(x, w.get("transformer.ln_f.weight"), w.get("transformer.ln_f.bias"), c.layerNormEpsilon());
        double[] head = c.tieWordEmbeddings() ? wte : w.get("lm_head.weight");
        double[][] out = new double[t][c.vocabSize()];
        for (int p = 0; p < t; p++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                double s = 0;
                for (int j = 0; j < h; j++) {
                    s += hidden[p][j] * head[v * h + j];
                }
                out[p][v] = s;
            }
        }
        return out;
    }

    /** Each head attends from position i to positions 0..i; q, k, v are the three H-wide thirds of c_attn's output. */
    private static double[][] attention(double[][] qkv, int t, int h, int heads, double scale) {
        int d = h / heads;
        double[][] ctx = new double[t][h];
        for (int head = 0; head < heads; head++) {
            int o = head * d;
            for (int i = 0; i < t; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) {
                        dot += qkv[i][o + e] * qkv[j][h + o + e];
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int e = 0; e < d; e++) {
                        ctx[i][o + e] += s[j] / sum * qkv[j][2 * h + o + e];
                    }
                }
            }
        }
        return ctx;
    }

    private static double[][] layerNorm(double[][] x, double[] g, double[] b, double eps) {
        double[][] out = new double[x.length][];
        for (int p = 0; p < x.length; p++) {
            int n = x[p].length;
            double mean = 0;
            for (double v : x[p]) {
                mean += v / n;
            }
            double var = 0;
            for (double v : x[p]) {
                var += (v - mean) * (v - mean) / n;
            }
            out[p] = new double[n];
            for (int j = 0; j < n; j++) {
                out[p][j] = (x[p][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
            }
        }
        return out;
    }

    /** transformers' Conv1D: {@code x [T, in] · W [in, out] + b}. */
    static double[][] conv1d(double[][] x, double[] weight, double[] bias, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int p = 0; p < x.length; p++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[p][i] * weight[i * out + o];
                }
                y[p][o] = s;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int p = 0; p < x.length; p++) {
            for (int j = 0; j < x[p].length; j++) {
                x[p][j] += y[p][j];
            }
        }
    }
}

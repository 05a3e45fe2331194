package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.gpt2.Gpt2Config;

import org.junit.jupiter.api.Test;


/**
 * Prefix tuning does not start equal to the base model, so its forward is checked in closed form: a
 * one-layer GPT-2 computed here in double precision, with the saved {@code prompt_embeddings} split as
 * HF PEFT's {@code get_prompt} splits them (row r: keys in columns {@code [0, H)}, values in
 * {@code [H, 2H)}, heads of width {@code H / heads}) and prepended to each head's keys and values; the
 * real tokens at positions {@code n, n + 1, ...}. Tolerance 1e-4: float32 against double through two
 * layer norms and a softmax of values of order one.
 */
class PrefixAttentionReferenceTest {
    private static final int H = 16;
    private static final int HEADS = 2;
    private static final int N = 3;
    private static final long[] IDS = {3, 17, 8, 29};

    @Test
    void prefixAttentionMatchesADoubleReference() {
        try (PeftModel model = TinyDecoders.gpt2(11, H, 1, HEADS); NDManager step = model.manager().newSubManager()) {
            Peft.wrap(model, PrefixTuningConfig.builder().numVirtualTokens(N).build());
            float[] prefix = new PrefixTuningStrategy().state(model, null, "default").get("prompt_embeddings").toFloatArray();
            float[] got = model.forward(ForwardContext.builder().inputIds(step.create(new long[][] {IDS})).build(), false)
                    .lastHiddenState().toFloatArray();
            double[][] want = reference(model, prefix);
            for (int t = 0; t < IDS.length; t++) {
                for (int j = 0; j < H; j++) {
                    assertEquals(want[t][j], got[t * H + j], 1e-4, "position " + t + ", unit " + j);
                }
            }
        }
    }

    private static double[] w(PeftModel model, String name) {
        float[] f = model.parameter(name).parameter().getArray().toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[][] reference(PeftModel model, float[] prefix) {
        Gpt2Config c = TinyDecoders.gpt2Config(H, 1, HEADS);
        int t = IDS.length;
        int d = H / HEADS;
        double[] wte = w(model, "transformer.wte.weight");
        double[] wpe = w(model, "transformer.wpe.weight");
        double[][] x = new double[t][H];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < H; j++) {
                x[i][j] = wte[(int) IDS[i] * H + j] + wpe[(N + i) * H + j];
            }
        }
        String p = "transformer.h.0.";
        double[][] a = layerNorm(x, w(model, p + "ln_1.weight"), w(model, p + "ln_1.bias"), c.layerNormEpsilon());
        double[][] qkv = conv1d(a, w(model, p + "attn.c_attn.weight"), w(model, p + "attn.c_attn.bias"), 3 * H);
        double[][] ctx = new double[t][H];
        double scale = 1 / Math.sqrt(d);
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < t; i++) {
                int keys = N + i + 1;
                double[] s = new double[keys];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < keys; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) {
                        double k = j < N ? prefix[j * 2 * H + h * d + e] : qkv[j - N][H + h * d + e];
                        dot += qkv[i][h * d + e] * k;
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < keys; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j < keys; j++) {
                    for (int e = 0; e < d; e++) {
                        double v = j < N ? prefix[j * 2 * H + H + h * d + e] : qkv[j - N][2 * H + h * d + e];
                        ctx[i][h * d + e] += s[j] / sum * v;
                    }
                }
            }
        }
        double[][] attn = conv1d(ctx, w(model, p + "attn.c_proj.weight"), w(model, p + "attn.c_proj.bias"), H);
        add(x, attn);
        double[][] m = layerNorm(x, w(model, p + "ln_2.weight"), w(model, p + "ln_2.bias"), c.layerNormEpsilon());
        double[][] f = conv1d(m, w(model, p + "mlp.c_fc.weight"), w(model, p + "mlp.c_fc.bias"), 4 * H);
        for (double[] row : f) {
            for (int j = 0; j < row.length; j++) {
                double v = row[j];
                row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
        }
        add(x, conv1d(f, w(model, p + "mlp.c_proj.weight"), w(model, p + "mlp.c_proj.bias"), H));
        return layerNorm(x, w(model, "transformer.ln_f.weight"), w(model, "transformer.ln_f.bias"), c.layerNormEpsilon());
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }

    /** transformers' Conv1D: {@code x W + b} with W stored {@code [in, out]}. */
    private static double[][] conv1d(double[][] x, double[] weight, double[] bias, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int k = 0; k < in; k++) {
                    s += x[i][k] * weight[k * out + o];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x, double[] g, double[] b, double eps) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= x[i].length;
            double var = 0;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[i].length;
            out[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = (x[i][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
            }
        }
        return out;
    }
}

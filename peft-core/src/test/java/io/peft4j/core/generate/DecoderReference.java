package io.peft4j.core.generate;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;

import java.util.Arrays;

/**
 * {@link TinyDecoder} in plain Java double precision, written from its definition, and greedy decoding
 * that recomputes the whole prefix each step: the reference the generator's ids are compared with.
 */
final class DecoderReference {
    private final double[][] embed;
    private final double[][] positions;
    private final double[][][] weights = new double[TinyDecoder.LAYERS * 4][][];
    private final double[][] biases = new double[TinyDecoder.LAYERS * 4][];
    private final int hidden;

    DecoderReference(PeftModel model) {
        embed = matrix(model.parameter("embed_tokens.weight").parameter().getArray());
        positions = matrix(model.parameter("embed_positions.weight").parameter().getArray());
        hidden = embed[0].length;
        String[] names = {"q_proj", "k_proj", "v_proj", "o_proj"};
        for (int l = 0; l < TinyDecoder.LAYERS; l++) {
            for (int j = 0; j < 4; j++) {
                String prefix = "layer" + l + "." + names[j];
                weights[l * 4 + j] = matrix(model.parameter(prefix + ".weight").parameter().getArray());
                biases[l * 4 + j] = vector(model.parameter(prefix + ".bias").parameter().getArray());
            }
        }
    }

    /** Greedy continuation of {@code prompt} by {@code n} tokens: argmax (first of ties) of the last logits. */
    long[] greedy(long[] prompt, int n) {
        return greedy(prompt, n, 1);
    }

    /**
     * Greedy with transformers' repetition penalty written out here: each distinct earlier token's
     * logit divided by {@code penalty} when positive, multiplied when negative.
     */
    long[] greedy(long[] prompt, int n, double penalty) {
        long[] seq = Arrays.copyOf(prompt, prompt.length + n);
        for (int step = 0; step < n; step++) {
            double[] logits = lastLogits(Arrays.copyOf(seq, prompt.length + step));
            boolean[] seen = new boolean[logits.length];
            for (int i = 0; i < prompt.length + step; i++) {
                seen[(int) seq[i]] = true;
            }
            for (int v = 0; v < logits.length; v++) {
                if (seen[v]) {
                    logits[v] = logits[v] > 0 ? logits[v] / penalty : logits[v] * penalty;
                }
            }
            int best = 0;
            for (int v = 1; v < logits.length; v++) {
                if (logits[v] > logits[best]) {
                    best = v;
                }
            }
            seq[prompt.length + step] = best;
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    /** The logits of the last position of an unpadded sequence at positions {@code 0..T-1}. */
    double[] lastLogits(long[] ids) {
        int t = ids.length;
        double[][] x = new double[t][hidden];
        for (int i = 0; i < t; i++) {
            for (int c = 0; c < hidden; c++) {
                x[i][c] = embed[(int) ids[i]][c] + positions[i][c];
            }
        }
        for (int l = 0; l < TinyDecoder.LAYERS; l++) {
            double[][] q = linear(x, l * 4);
            double[][] k = linear(x, l * 4 + 1);
            double[][] v = linear(x, l * 4 + 2);
            double[][] o = new double[t][hidden];
            int d = hidden / TinyDecoder.HEADS;
            for (int h = 0; h < TinyDecoder.HEADS; h++) {
                for (int i = 0; i < t; i++) {
                    double[] score = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double s = 0;
                        for (int c = h * d; c < (h + 1) * d; c++) {
                            s += q[i][c] * k[j][c];
                        }
                        score[j] = s / Math.sqrt(d);
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        score[j] = Math.exp(score[j] - max);
                        sum += score[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int c = h * d; c < (h + 1) * d; c++) {
                            o[i][c] += score[j] / sum * v[j][c];
                        }
                    }
                }
            }
            double[][] out = linear(o, l * 4 + 3);
            for (int i = 0; i < t; i++) {
                for (int c = 0; c < hidden; c++) {
                    x[i][c] += out[i][c];
                }
            }
        }
        double[] logits = new double[embed.length];
        for (int vId = 0; vId < embed.length; vId++) {
            for (int c = 0; c < hidden; c++) {
                logits[vId] += x[t - 1][c] * embed[vId][c];
            }
        }
        return logits;
    }

    private double[][] linear(double[][] x, int which) {
        double[][] w = weights[which];
        double[] b = biases[which];
        double[][] y = new double[x.length][w.length];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < w.length; o++) {
                double s = b[o];
                for (int c = 0; c < x[i].length; c++) {
                    s += w[o][c] * x[i][c];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static double[][] matrix(NDArray a) {
        float[] f = a.toFloatArray();
        int r = (int) a.getShape().get(0);
        int c = (int) a.getShape().get(1);
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[i][j] = f[i * c + j];
            }
        }
        return out;
    }

    private static double[] vector(NDArray a) {
        float[] f = a.toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }
}

package io.peft4j.adapters.bottleneck;

import io.peft4j.core.nn.Module;

/**
 * AdapterHub's sequential bottleneck adapter inside a BERT residual output, in double precision from
 * the module's own weights (dropout off), written from the formulas of AdapterHub's {@code Adapter}:
 * {@code h = W_dense x + b}; Pfeiffer reads {@code LN(h + r)}, Houlsby reads {@code h}; the adapter adds
 * {@code W_up act(W_down a + b_down) + b_up} to {@code h}; the model's norm then gives {@code LN(. + r)}.
 */
final class BottleneckReference {
    private BottleneckReference() {}

    static double[] linear(float[] w, float[] b, double[] x, int out) {
        int in = x.length;
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++) {
                s += (double) w[o * in + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    static double[] layerNorm(double[] v, float[] gamma, float[] beta, double eps) {
        double mean = 0;
        for (double d : v) {
            mean += d;
        }
        mean /= v.length;
        double var = 0;
        for (double d : v) {
            var += (d - mean) * (d - mean);
        }
        var /= v.length;
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (v[i] - mean) / Math.sqrt(var + eps) * gamma[i] + beta[i];
        }
        return out;
    }

    static double act(String f, double x) {
        switch (f) {
            case "relu":
                return Math.max(0, x);
            case "swish":
                return x / (1 + Math.exp(-x));
            default:
                throw new IllegalArgumentException(f);
        }
    }

    private static float[] arr(Module m, String name) {
        return m.parameters().get(name).getArray().toFloatArray();
    }

    /** The output of {@code place} with adapter {@code name} for one token: inputs x (sub-layer input) and r (residual). */
    static double[] output(BottleneckOutput place, String name, double[] x, double[] r, double eps) {
        Module dense = place.child("dense");
        Module ln = place.child("LayerNorm");
        int hidden = r.length;
        double[] h = linear(arr(dense, "weight"), arr(dense, "bias"), x, hidden);
        BottleneckAdapter a = place.adapter(name);
        BottleneckConfig c = a.config();
        double[] sum = new double[hidden];
        for (int i = 0; i < hidden; i++) {
            sum[i] = h[i] + r[i];
        }
        double[] in = c.originalLnBefore() ? layerNorm(sum, arr(ln, "weight"), arr(ln, "bias"), eps) : h;
        Module down = a.child("adapter_down").child("0");
        Module up = a.child("adapter_up");
        int size = (int) down.parameters().get("bias").getArray().size();
        double[] d = linear(arr(down, "weight"), arr(down, "bias"), in, size);
        for (int i = 0; i < size; i++) {
            d[i] = act(c.nonLinearity().jsonName(), d[i]);
        }
        double[] u = linear(arr(up, "weight"), arr(up, "bias"), d, hidden);
        double[] out = new double[hidden];
        for (int i = 0; i < hidden; i++) {
            out[i] = u[i] * c.scaling() + h[i] + r[i];
        }
        return layerNorm(out, arr(ln, "weight"), arr(ln, "bias"), eps);
    }
}

package io.peft4j.core.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

/** {@link NativeOps#scaledDotProductAttention} against softmax(QK^T/sqrt(E) + mask)V computed here in double. */
class ScaledDotProductAttentionTest {
    private static final int B = 2; // batch x heads, flattened into one leading dimension of the reference
    private static final int L = 3;
    private static final int S = 4;
    private static final int E = 5;
    private static final int EV = 3;

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = Compute.newManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /**
     * The reference on row-major {@code q[b][l][e]}, {@code k[b][s][e]}, {@code v[b][s][ev]}; {@code allowed}
     * is null or {@code [b][s]} (a padding mask); {@code additive} is null or {@code [b][l][s]} added to the scores.
     */
    static double[] reference(double[] q, double[] k, double[] v, int b, int l, int s, int e, int ev,
            boolean[][] allowed, double[] additive, boolean causal) {
        double[] out = new double[b * l * ev];
        for (int bi = 0; bi < b; bi++) {
            for (int i = 0; i < l; i++) {
                double[] score = new double[s];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < s; j++) {
                    double dot = 0;
                    for (int d = 0; d < e; d++) {
                        dot += q[(bi * l + i) * e + d] * k[(bi * s + j) * e + d];
                    }
                    score[j] = dot / Math.sqrt(e);
                    if (additive != null) {
                        score[j] += additive[(bi * l + i) * s + j];
                    }
                    if ((allowed != null && !allowed[bi][j]) || (causal && j > i)) {
                        score[j] = Double.NEGATIVE_INFINITY;
                    }
                    max = Math.max(max, score[j]);
                }
                double sum = 0;
                for (int j = 0; j < s; j++) {
                    score[j] = Math.exp(score[j] - max);
                    sum += score[j];
                }
                for (int d = 0; d < ev; d++) {
                    double acc = 0;
                    for (int j = 0; j < s; j++) {
                        acc += score[j] / sum * v[(bi * s + j) * ev + d];
                    }
                    out[(bi * l + i) * ev + d] = acc;
                }
            }
        }
        return out;
    }

    private static double[] gaussian(Random r, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextGaussian();
        }
        return out;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** float32 inputs, so the reference takes the inputs as rounded to float32; error of float32 arithmetic: 1e-5. */
    private static void assertClose(double[] want, NDArray got, double tol) {
        double[] g = got.getDataType() == DataType.FLOAT64 ? got.toDoubleArray() : toDouble(got.toFloatArray());
        assertEquals(want.length, g.length);
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(want[i] - g[i]) > tol) {
                throw new AssertionError("element " + i + ": want " + want[i] + ", got " + g[i]);
            }
        }
    }

    @Test
    void matchesTheReferenceWithoutMaskCausalWithMasksAndBoth() {
        Random r = new Random(3);
        double[] q = toDouble(toFloat(gaussian(r, B * L * E)));
        double[] k = toDouble(toFloat(gaussian(r, B * S * E)));
        double[] v = toDouble(toFloat(gaussian(r, B * S * EV)));
        // Causal needs L <= S to leave every query a key; torch's triangle is top-left aligned (i sees 0..i).
        boolean[][] pad = {{true, true, true, false}, {true, true, true, true}};
        double[] additive = gaussian(r, B * L * S);
        try (NDManager m = manager.newSubManager()) {
            // Shapes [B, 1 head, L, E]: one leading dimension more than the reference, to check broadcasting of the mask.
            NDArray qa = m.create(toFloat(q), new Shape(B, 1, L, E));
            NDArray ka = m.create(toFloat(k), new Shape(B, 1, S, E));
            NDArray va = m.create(toFloat(v), new Shape(B, 1, S, EV));
            NDArray padMask = m.create(new boolean[] {true, true, true, false, true, true, true, true}, new Shape(B, 1, 1, S));
            NDArray addMask = m.create(toFloat(additive), new Shape(B, 1, L, S));
            double[] additiveF = toDouble(toFloat(additive));

            NDArray plain = NativeOps.scaledDotProductAttention(qa, ka, va, null, false);
            assertEquals(new Shape(B, 1, L, EV), plain.getShape());
            assertClose(reference(q, k, v, B, L, S, E, EV, null, null, false), plain, 1e-5);
            assertClose(reference(q, k, v, B, L, S, E, EV, null, null, true),
                    NativeOps.scaledDotProductAttention(qa, ka, va, null, true), 1e-5);
            assertClose(reference(q, k, v, B, L, S, E, EV, pad, null, false),
                    NativeOps.scaledDotProductAttention(qa, ka, va, padMask, false), 1e-5);
            assertClose(reference(q, k, v, B, L, S, E, EV, pad, null, true),
                    NativeOps.scaledDotProductAttention(qa, ka, va, padMask, true), 1e-5);
            assertClose(reference(q, k, v, B, L, S, E, EV, null, additiveF, false),
                    NativeOps.scaledDotProductAttention(qa, ka, va, addMask, false), 1e-5);
            assertClose(reference(q, k, v, B, L, S, E, EV, null, additiveF, true),
                    NativeOps.scaledDotProductAttention(qa, ka, va, addMask, true), 1e-5);
        }
    }

    /**
     * Autograd's gradients of sum(attention(q, k, v) * c) in float64 against central differences of the
     * double reference. With h = 1e-5 the truncation error is O(h^2) ~ 1e-10 and the rounding error
     * ~1e-16 / h ~ 1e-11, so 1e-7 leaves a wide margin while a wrong gradient is off by O(1e-2) or more.
     */
    @Test
    void gradientsMatchFiniteDifferencesOfTheReference() {
        int l = 3;
        int s = 3;
        int e = 2;
        int ev = 2;
        Random r = new Random(5);
        double[] q = gaussian(r, l * e);
        double[] k = gaussian(r, s * e);
        double[] v = gaussian(r, s * ev);
        double[] c = gaussian(r, l * ev);
        for (boolean causal : new boolean[] {false, true}) {
            try (NDManager m = manager.newSubManager()) {
                NDArray qa = m.create(q, new Shape(1, l, e));
                NDArray ka = m.create(k, new Shape(1, s, e));
                NDArray va = m.create(v, new Shape(1, s, ev));
                qa.setRequiresGradient(true);
                ka.setRequiresGradient(true);
                va.setRequiresGradient(true);
                try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                    NDArray out = NativeOps.scaledDotProductAttention(qa, ka, va, null, causal);
                    gc.backward(out.mul(m.create(c, new Shape(1, l, ev))).sum());
                }
                double[][] inputs = {q, k, v};
                NDArray[] grads = {qa.getGradient(), ka.getGradient(), va.getGradient()};
                for (int which = 0; which < 3; which++) {
                    double[] got = grads[which].toDoubleArray();
                    for (int i = 0; i < inputs[which].length; i++) {
                        double want = numericGradient(inputs, which, i, c, l, s, e, ev, causal);
                        assertEquals(want, got[i], 1e-7, (causal ? "causal " : "") + "input " + which + " element " + i);
                    }
                }
                if (causal) {
                    // The first query sees only the first key, with weight 1 whatever q[0] is: its gradient is 0.
                    double[] gq = grads[0].toDoubleArray();
                    for (int d = 0; d < e; d++) {
                        assertEquals(0.0, gq[d], 1e-15);
                    }
                }
            }
        }
    }

    private static double numericGradient(double[][] inputs, int which, int i, double[] c, int l, int s, int e,
            int ev, boolean causal) {
        double h = 1e-5;
        double saved = inputs[which][i];
        inputs[which][i] = saved + h;
        double up = weighted(reference(inputs[0], inputs[1], inputs[2], 1, l, s, e, ev, null, null, causal), c);
        inputs[which][i] = saved - h;
        double down = weighted(reference(inputs[0], inputs[1], inputs[2], 1, l, s, e, ev, null, null, causal), c);
        inputs[which][i] = saved;
        return (up - down) / (2 * h);
    }

    private static double weighted(double[] out, double[] c) {
        double sum = 0;
        for (int i = 0; i < out.length; i++) {
            sum += out[i] * c[i];
        }
        return sum;
    }

    @Test
    void mismatchedShapesAndTypesAreRefusedWithTheShapes() {
        try (NDManager m = manager.newSubManager()) {
            NDArray q = m.zeros(new Shape(1, 2, 4));
            NDArray k = m.zeros(new Shape(1, 3, 5));
            NDArray v = m.zeros(new Shape(1, 3, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NativeOps.scaledDotProductAttention(q, k, v, null, false));
            assertTrue(e.getMessage().contains("(1, 2, 4)") && e.getMessage().contains("(1, 3, 5)"), e.getMessage());
            NDArray k4 = m.zeros(new Shape(1, 3, 4));
            NDArray v2 = m.zeros(new Shape(1, 2, 4));
            e = assertThrows(IllegalArgumentException.class, () -> NativeOps.scaledDotProductAttention(q, k4, v2, null, false));
            assertTrue(e.getMessage().contains("3 keys") && e.getMessage().contains("2 values"), e.getMessage());
            NDArray v64 = m.zeros(new Shape(1, 3, 4), DataType.FLOAT64);
            e = assertThrows(IllegalArgumentException.class, () -> NativeOps.scaledDotProductAttention(q, k4, v64, null, false));
            assertTrue(e.getMessage().contains("FLOAT64"), e.getMessage());
            NDArray intMask = m.zeros(new Shape(2, 3), DataType.INT32);
            e = assertThrows(IllegalArgumentException.class,
                    () -> NativeOps.scaledDotProductAttention(q, k4, v, intMask, false));
            assertTrue(e.getMessage().contains("mask") && e.getMessage().contains("INT32"), e.getMessage());
        }
    }
}

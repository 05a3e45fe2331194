package io.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Compute;
import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;

import org.junit.jupiter.api.Test;

/**
 * Weight read/write and weight deltas on both kinds of linear layer, against sums computed in double
 * in the test. The base weights are multiples of 0.01 with a row maximum of 1.27, which INT8's
 * per-row absmax quantization (127 levels) represents exactly, so the quantized layer's expected
 * values need no dequantization code. Tolerance 1e-4: float32 sums of a few products of size ~1.
 */
class WeightDeltaTest {
    private static final int OUT = 3;
    private static final int IN = 4;
    private static final int N = 5;
    private static final float[] W = {1.27f, -0.50f, 0.25f, 0.00f, -1.27f, 0.64f, 0.01f, 0.30f, 0.02f, 1.27f, -0.99f, 0.45f};
    private static final float[] BIAS = {0.1f, -0.2f, 0.3f};
    private static final float[] A = {0.5f, -0.25f, 0.75f, 1.0f, -0.5f, 0.125f, 0.0f, 0.25f}; // [2, IN]
    private static final float[] B = {0.2f, -0.1f, 0.4f, 0.3f, -0.6f, 0.05f}; // [OUT, 2]

    @Test
    void floatLinearAddsDeltasAndGradientsReachThem() {
        try (NDManager m = Compute.newManager()) {
            Linear layer = new Linear(IN, OUT, true);
            layer.setParameterArray("weight", m.create(W, new Shape(OUT, IN)));
            layer.setParameterArray("bias", m.create(BIAS));
            checkDeltaForwardAndBackward(layer, layer, m);
        }
    }

    @Test
    void quantizedLinearAddsDeltasAndGradientsReachThem() {
        try (NDManager m = Compute.newManager()) {
            QuantizedLinear layer = quantized(m);
            checkDeltaForwardAndBackward(layer, layer, m);
            layer.closeWeight();
        }
    }

    @Test
    void readAndWriteWeightOnBothKinds() {
        try (NDManager m = Compute.newManager()) {
            Linear dense = new Linear(IN, OUT, false);
            dense.initializeMissing(m);
            dense.writeWeight(m.create(W, new Shape(OUT, IN)));
            assertClose(W, dense.readWeight(m).toFloatArray(), 0f, "float weight written then read");

            QuantizedLinear q = quantized(m);
            assertClose(W, q.readWeight(m).toFloatArray(), 1e-6f, "INT8-exact weight after quantization");
            float[] half = new float[W.length];
            for (int i = 0; i < W.length; i++) {
                half[i] = W[i] / 2; // multiples of 0.005 with row maximum 0.635: exact in INT8 too
            }
            q.writeWeight(m.create(half, new Shape(OUT, IN)));
            assertClose(half, q.readWeight(m).toFloatArray(), 1e-6f, "quantized layer re-quantizes what is written");
            q.closeWeight();
        }
    }

    private static QuantizedLinear quantized(NDManager m) {
        Linear dense = new Linear(IN, OUT, true);
        dense.setParameterArray("weight", m.create(W, new Shape(OUT, IN)));
        dense.setParameterArray("bias", m.create(BIAS));
        return QuantizedLinear.quantize(dense, QuantizationConfig.builder().type(QuantType.INT8).build(), m, "q");
    }

    private static void checkDeltaForwardAndBackward(LinearLayer layer, Module module, NDManager m) {
        NDArray a = m.create(A, new Shape(2, IN));
        NDArray b = m.create(B, new Shape(OUT, 2));
        a.setRequiresGradient(true);
        b.setRequiresGradient(true);
        // The product starts from a step-owned scalar so that it lands in the step's manager.
        WeightDelta lowRank = step -> step.create(1f).mul(b).matMul(a);
        layer.addWeightDelta(lowRank);
        assertEquals(1, layer.weightDeltas().size());
        double[][] eff = new double[OUT][IN];
        for (int o = 0; o < OUT; o++) {
            for (int i = 0; i < IN; i++) {
                eff[o][i] = W[o * IN + i] + B[o * 2] * A[i] + B[o * 2 + 1] * A[IN + i];
            }
        }
        try (NDManager step = m.newSubManager()) {
            float[] xs = new float[N * IN];
            for (int k = 0; k < xs.length; k++) {
                xs[k] = (float) Math.sin(k + 1);
            }
            NDArray x = step.create(xs, new Shape(N, IN));
            NDArray y;
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                y = module.forward(new ParameterStore(step, false), new NDList(x), true).singletonOrThrow();
                gc.backward(y.sum());
            }
            float[] ys = y.toFloatArray();
            double[] colSum = new double[IN];
            for (int n = 0; n < N; n++) {
                for (int o = 0; o < OUT; o++) {
                    double want = BIAS[o];
                    for (int i = 0; i < IN; i++) {
                        want += xs[n * IN + i] * eff[o][i];
                    }
                    assertEquals(want, ys[n * OUT + o], 1e-4, "y[" + n + "," + o + "]");
                }
                for (int i = 0; i < IN; i++) {
                    colSum[i] += xs[n * IN + i];
                }
            }
            // d sum(y) / d W_eff = G with G[o][i] = colSum[i]; W_eff = W + B A gives dA = B^T G, dB = G A^T.
            float[] ga = a.getGradient().toFloatArray();
            float[] gb = b.getGradient().toFloatArray();
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < IN; i++) {
                    double want = 0;
                    for (int o = 0; o < OUT; o++) {
                        want += B[o * 2 + r] * colSum[i];
                    }
                    assertEquals(want, ga[r * IN + i], 1e-4, "dA[" + r + "," + i + "]");
                }
                for (int o = 0; o < OUT; o++) {
                    double want = 0;
                    for (int i = 0; i < IN; i++) {
                        want += colSum[i] * A[r * IN + i];
                    }
                    assertEquals(want, gb[o * 2 + r], 1e-4, "dB[" + o + "," + r + "]");
                }
            }
        }
        assertTrue(layer.removeWeightDelta(lowRank));
        assertTrue(layer.weightDeltas().isEmpty());
        assertClose(W, layer.readWeight(m).toFloatArray(), 1e-6f, "deltas never change the stored weight");
    }

    private static void assertClose(float[] want, float[] got, float tol, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tol, what + " [" + i + "]");
        }
    }
}

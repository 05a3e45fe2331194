package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Compute;
import io.peft4j.core.nn.Linear;

import org.junit.jupiter.api.Test;

/**
 * A LoRA adapter as a weight delta on another linear layer: {@code y = x (W + (alpha/r) B A)^T + b},
 * expected values computed in double here; tolerance 1e-4 (float32 sums of a few terms of size ~1).
 */
class LoraWeightDeltaTest {
    @Test
    void loraUpdateAppliedAsAWeightDelta() {
        int in = 3;
        int out = 2;
        int r = 2;
        float alpha = 4;
        float[] w = {0.5f, -1f, 0.25f, 2f, 0f, -0.5f};
        float[] a = {1f, 0.5f, -1f, 0.25f, 0f, 2f};
        float[] b = {0.5f, -1f, 1.5f, 0.25f};
        float[] x = {1f, -2f, 0.5f};
        try (NDManager m = Compute.newManager()) {
            Linear base = new Linear(in, out, false);
            base.setParameterArray("weight", m.create(w, new Shape(out, in)));
            LoraLinear lora = new LoraLinear(base);
            lora.addAdapter("a", new AdapterSettings(r, alpha, false, 0f, false), InitLoraWeights.DEFAULT, m);
            lora.setMatrices("a", m.create(a, new Shape(r, in)), m.create(b, new Shape(out, r)));
            lora.loraA("a").setRequiresGradient(true);

            Linear other = new Linear(in, out, false);
            other.setParameterArray("weight", m.create(w, new Shape(out, in)));
            other.addWeightDelta(lora.weightDelta("a"));
            double scaling = alpha / r;
            try (NDManager step = m.newSubManager()) {
                NDArray y;
                try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                    y = other.forward(new ParameterStore(step, false), new NDList(step.create(x, new Shape(1, in))), true)
                            .singletonOrThrow();
                    gc.backward(y.sum());
                }
                float[] ys = y.toFloatArray();
                for (int o = 0; o < out; o++) {
                    double want = 0;
                    for (int i = 0; i < in; i++) {
                        double ba = 0;
                        for (int k = 0; k < r; k++) {
                            ba += b[o * r + k] * a[k * in + i];
                        }
                        want += (w[o * in + i] + scaling * ba) * x[i];
                    }
                    assertEquals(want, ys[o], 1e-4, "y[" + o + "]");
                }
                // d sum(y) / dA[k][i] = scaling * (sum_o B[o][k]) * x[i]
                float[] ga = lora.loraA("a").getGradient().toFloatArray();
                for (int k = 0; k < r; k++) {
                    for (int i = 0; i < in; i++) {
                        double colB = 0;
                        for (int o = 0; o < out; o++) {
                            colB += b[o * r + k];
                        }
                        assertEquals(scaling * colB * x[i], ga[k * in + i], 1e-4, "dA[" + k + "," + i + "]");
                    }
                }
            }
        }
    }
}

package io.peft4j.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

class QuantizedLinearTest {
    @Test
    void forwardAndInputGradientUseTheDequantizedWeight() {
        for (QuantType type : QuantType.values()) {
            forwardAndInputGradient(QuantizationConfig.builder().type(type).build(), 1e-4);
        }
    }

    /**
     * With float16 compute the input and output are cast inside the forward; the gradient must still
     * reach the input. Tolerance: inputs and weights rounded to float16 (relative 4.9e-4) over sums of
     * 128 terms of size ~0.02 and a bias of size ~1 give errors of a few 1e-3 at most.
     */
    @Test
    void float16ComputePassesGradientsToTheInput() {
        forwardAndInputGradient(QuantizationConfig.builder().type(QuantType.NF4).computeDType(DataType.FLOAT16).build(), 1e-2);
    }

    private static void forwardAndInputGradient(QuantizationConfig config, double tol) {
        try (NDManager m = Compute.newManager()) {
            Linear dense = new Linear(128, 48, true);
            dense.initializeMissing(m);
            dense.setParameterArray("bias", m.randomNormal(new Shape(48)));
            QuantizedLinear q = QuantizedLinear.quantize(dense, config, m, "layer");
            float[] w = q.dequantizedWeight(m).toFloatArray();
            float[] b = q.bias().toFloatArray();
            q.bias().setRequiresGradient(true);
            try (NDManager step = m.newSubManager()) {
                NDArray x = step.randomNormal(new Shape(5, 128));
                x.setRequiresGradient(true);
                float[] xs = x.toFloatArray();
                NDArray y;
                try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                    y = q.forward(new ParameterStore(step, false), new NDList(x), true).singletonOrThrow();
                    gc.backward(y.sum());
                }
                float[] ys = y.toFloatArray();
                float[] gx = x.getGradient().toFloatArray();
                for (int i = 0; i < 5; i++) {
                    for (int o = 0; o < 48; o++) {
                        double want = b[o];
                        for (int k = 0; k < 128; k++) {
                            want += xs[i * 128 + k] * w[o * 128 + k];
                        }
                        assertEquals(want, ys[i * 48 + o], tol, "y[" + i + "," + o + "]");
                    }
                    for (int k = 0; k < 128; k++) {
                        double want = 0;
                        for (int o = 0; o < 48; o++) {
                            want += w[o * 128 + k];
                        }
                        // d sum(y) / dx = column sums of W, the same for every row of x
                        assertEquals(want, gx[i * 128 + k], tol, "grad x[" + i + "," + k + "]");
                    }
                }
                assertEquals(5f, q.bias().getGradient().toFloatArray()[0], (float) tol);
            }
            q.closeWeight();
        }
    }

    @Test
    void quantizingAModelKeepsItsNamesCountsAndShrinksItsWeights() {
        try (PeftModel model = TinyBert.classifier(2, 0f); NDManager io = Compute.newManager()) {
            long before = model.weightBytes();
            long total = model.trainableReport().total();
            NDList in = TinyBert.modelInputs(TinyBert.task(4, 3).batch(io, new int[] {0, 1, 2, 3}));
            float[] dense = model.forward(in, false).get(0).toFloatArray();
            java.util.List<String> names = ModelQuantizer.quantizeLinears(model,
                    QuantizationConfig.builder().skipModules("classifier").build());
            assertTrue(names.contains("bert.encoder.layer.0.attention.self.query"), names.toString());
            assertFalse(names.contains("classifier"));
            assertTrue(model.module("bert.encoder.layer.1.output.dense") instanceof QuantizedLinear);
            assertEquals(total, model.trainableReport().total(), "quantized weights still count as parameters");
            assertTrue(model.weightBytes() < before, model.weightBytes() + " vs " + before);
            float[] quantized = model.forward(in, false).get(0).toFloatArray();
            for (int i = 0; i < dense.length; i++) {
                // 4-bit weights move the logits of this random tiny model by a few hundredths
                assertEquals(dense[i], quantized[i], 0.1f);
            }
            ModelQuantizer.dequantizeAll(model);
            assertTrue(model.module("bert.encoder.layer.0.attention.self.query") instanceof Linear);
            float[] back = model.forward(in, false).get(0).toFloatArray();
            for (int i = 0; i < dense.length; i++) {
                assertEquals(quantized[i], back[i], 1e-5f, "dequantized model computes what the quantized one did");
            }
        }
    }

    @Test
    void float16ComputeRunsTheMatmulInHalfPrecision() {
        try (NDManager m = Compute.newManager()) {
            Linear dense = new Linear(64, 16, true);
            dense.initializeMissing(m);
            QuantizedLinear q32 = QuantizedLinear.quantize(dense, QuantizationConfig.nf4(), m, "a");
            QuantizedLinear q16 = QuantizedLinear.quantize(dense,
                    QuantizationConfig.builder().computeDType(DataType.FLOAT16).build(), m, "b");
            NDArray x = m.randomNormal(new Shape(3, 64));
            NDArray y32 = q32.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
            NDArray y16 = q16.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
            assertEquals(DataType.FLOAT32, y16.getDataType());
            float[] a = y32.toFloatArray();
            float[] b = y16.toFloatArray();
            for (int i = 0; i < a.length; i++) {
                // fp16 keeps 11 significant bits: relative error about 1e-3 over a 64-term sum
                assertEquals(a[i], b[i], 2e-2f);
            }
        }
    }
}

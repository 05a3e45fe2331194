package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Global-norm clipping against a double reference of PyTorch's {@code clip_grad_norm_}. */
class GradientClippingTest {
    private static final Shape[] SHAPES = {new Shape(3, 5), new Shape(7), new Shape(2, 2, 2)};

    private static List<float[]> values(long seed) {
        Random r = new Random(seed);
        List<float[]> out = new ArrayList<>();
        for (Shape s : SHAPES) {
            float[] v = new float[(int) s.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (2 * r.nextGaussian());
            }
            out.add(v);
        }
        return out;
    }

    private static List<NDArray> arrays(NDManager m, List<float[]> values) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            out.add(m.create(values.get(i), SHAPES[i]));
        }
        return out;
    }

    private static double norm(List<float[]> values) {
        double sq = 0;
        for (float[] v : values) {
            for (float x : v) {
                sq += (double) x * x;
            }
        }
        return Math.sqrt(sq);
    }

    @Test
    void clipsToTheMaximumNormAsPyTorchDoes() {
        List<float[]> v = values(1);
        double want = norm(v);
        double max = want / 3;
        try (NDManager m = Compute.newManager()) {
            List<NDArray> g = arrays(m, v);
            double got = GradientClipping.clip(g, max);
            // float32 sum of 30 squares of order 4: relative error a few 1e-7; 1e-5 leaves margin.
            assertEquals(want, got, 1e-5 * want, "the norm before clipping");
            double scale = max / (want + 1e-6);
            for (int t = 0; t < v.size(); t++) {
                float[] after = g.get(t).toFloatArray();
                for (int i = 0; i < after.length; i++) {
                    assertEquals(v.get(t)[i] * scale, after[i], 1e-5, "tensor " + t + "[" + i + "]");
                }
            }
            assertEquals(max, GradientClipping.globalNorm(g), 1e-5 * max, "the norm after clipping");
        }
    }

    @Test
    void leavesGradientsBelowTheMaximumUntouched() {
        List<float[]> v = values(2);
        try (NDManager m = Compute.newManager()) {
            List<NDArray> g = arrays(m, v);
            GradientClipping.clip(g, norm(v) * 2);
            for (int t = 0; t < v.size(); t++) {
                assertArrayEquals(v.get(t), g.get(t).toFloatArray());
            }
            GradientClipping.clip(g, 0); // 0 disables clipping
            assertArrayEquals(v.get(0), g.get(0).toFloatArray());
        }
    }

    @Test
    void zeroingClearsNaNAndInfinity() {
        try (NDManager m = Compute.newManager()) {
            NDArray g = m.create(new float[] {1f, Float.NaN, Float.POSITIVE_INFINITY, -2f});
            assertTrue(Double.isNaN(GradientClipping.globalNorm(List.of(g))));
            GradientClipping.zero(List.of(g));
            assertArrayEquals(new float[4], g.toFloatArray());
        }
    }
}

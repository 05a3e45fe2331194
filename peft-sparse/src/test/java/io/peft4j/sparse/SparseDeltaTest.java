package io.peft4j.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.io.DType;
import io.peft4j.core.nn.Linear;

import org.junit.jupiter.api.Test;

/**
 * The shared sparse delta against values written out by hand: a 3x4 tensor whose flat row-major
 * index {@code 4r + c} is element (r, c). Tolerances: 0 where the operation only moves floats,
 * 1e-6 where one float32 addition of numbers below 2 rounds.
 */
class SparseDeltaTest {
    private static final long[] SHAPE = {3, 4};
    private static final float[] W = {1f, -0.5f, 0.25f, 0f, -1f, 0.75f, 0.125f, 0.3f, 0.02f, 1.5f, -0.9f, 0.45f};

    @Test
    void keepsPairsSortedAndRefusesBadIndices() {
        SparseDelta d = SparseDelta.of("a.weight", SHAPE, new long[] {9, 1, 6}, new float[] {3f, 1f, 2f});
        assertArrayEquals(new long[] {1, 6, 9}, d.indices());
        assertArrayEquals(new float[] {1f, 2f, 3f}, d.values());
        assertEquals(3.0 / 12, d.density(), 0.0);
        assertEquals(DType.I32, d.indexType());
        assertEquals(DType.I32, SparseDelta.indexTypeFor((1L << 31) - 1));
        assertEquals(DType.I64, SparseDelta.indexTypeFor(1L << 31));
        IllegalArgumentException out = assertThrows(IllegalArgumentException.class,
                () -> SparseDelta.of("a.weight", SHAPE, new long[] {12}, new float[] {1f}));
        assertTrue(out.getMessage().contains("a.weight") && out.getMessage().contains("12"), out.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> SparseDelta.of("a.weight", SHAPE, new long[] {2, 2}, new float[] {1f, 1f}));
        assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
    }

    @Test
    void denseScattersAtRowMajorPositions() {
        try (NDManager m = Compute.newManager()) {
            SparseDelta d = SparseDelta.of("a.weight", SHAPE, new long[] {1, 6, 11}, new float[] {0.5f, -2f, 4f});
            float[] expected = new float[12];
            expected[1] = 0.5f;  // (0, 1)
            expected[6] = -2f;   // (1, 2)
            expected[11] = 4f;   // (2, 3)
            NDArray dense = d.dense(m);
            assertEquals(new Shape(3, 4), dense.getShape());
            assertArrayEquals(expected, dense.toFloatArray(), 0f);
        }
    }

    @Test
    void valuesGetTheDenseGradientGatheredAtTheirIndices() {
        try (NDManager m = Compute.newManager()) {
            NDArray values = m.create(new float[] {0.5f, -2f, 4f});
            values.setRequiresGradient(true);
            NDArray indices = m.create(new long[] {1, 6, 11});
            float[] g = new float[12];
            for (int i = 0; i < g.length; i++) {
                g[i] = i + 1;   // d(loss)/d(dense[i]) = i + 1 for loss = sum(dense * g)
            }
            try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray dense = SparseDelta.scatter(indices, values, SHAPE, m);
                gc.backward(dense.mul(m.create(g, new Shape(3, 4))).sum());
            }
            assertArrayEquals(new float[] {2f, 7f, 12f}, values.getGradient().toFloatArray(), 0f);
        }
    }

    @Test
    void appliesToTensorsAndMergesIntoLinearLayers() {
        try (NDManager m = Compute.newManager()) {
            SparseDelta d = SparseDelta.of("a.weight", SHAPE, new long[] {0, 7}, new float[] {0.25f, -0.5f});
            float[] expected = W.clone();
            expected[0] += 0.25f;
            expected[7] -= 0.5f;
            NDArray w = m.create(W, new Shape(3, 4));
            assertArrayEquals(expected, d.applyTo(w).toFloatArray(), 1e-6f);
            assertArrayEquals(W, d.removeFrom(d.applyTo(w)).toFloatArray(), 1e-6f);
            assertArrayEquals(W, w.toFloatArray(), 0f, "applyTo leaves its input unchanged");

            Linear layer = new Linear(4, 3, false);
            layer.setParameterArray("weight", m.create(W, new Shape(3, 4)));
            d.mergeInto(layer);
            assertArrayEquals(expected, layer.readWeight(m).toFloatArray(), 1e-6f);
            d.unmergeFrom(layer);
            assertArrayEquals(W, layer.readWeight(m).toFloatArray(), 1e-6f);

            SparseDelta wrong = SparseDelta.empty("b.weight", new long[] {4, 3});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wrong.mergeInto(layer));
            assertTrue(e.getMessage().contains("b.weight"), e.getMessage());
        }
    }

    @Test
    void forwardDeltaEqualsMergedWeight() {
        try (NDManager m = Compute.newManager()) {
            SparseDelta d = SparseDelta.of("a.weight", SHAPE, new long[] {2, 5}, new float[] {1f, -1f});
            float[] x = {1f, 2f, 3f, 4f};
            double[] expected = new double[3];
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 4; c++) {
                    double w = W[4 * r + c] + (4 * r + c == 2 ? 1 : 0) + (4 * r + c == 5 ? -1 : 0);
                    expected[r] += w * x[c];
                }
            }
            Linear layer = new Linear(4, 3, false);
            layer.setParameterArray("weight", m.create(W, new Shape(3, 4)));
            layer.addWeightDelta(d.asWeightDelta());
            float[] y = layer.forward(new ai.djl.training.ParameterStore(m, false),
                    new ai.djl.ndarray.NDList(m.create(x, new Shape(1, 4))), false).singletonOrThrow().toFloatArray();
            for (int r = 0; r < 3; r++) {
                assertEquals(expected[r], y[r], 1e-5);
            }
        }
    }

    @Test
    void addAndSubtractUniteIndices() {
        SparseDelta a = SparseDelta.of("a.weight", SHAPE, new long[] {1, 4}, new float[] {1f, 2f});
        SparseDelta b = SparseDelta.of("a.weight", SHAPE, new long[] {4, 9}, new float[] {0.5f, 3f});
        SparseDelta sum = a.add(b);
        assertArrayEquals(new long[] {1, 4, 9}, sum.indices());
        assertArrayEquals(new float[] {1f, 2.5f, 3f}, sum.values(), 0f);
        SparseDelta diff = a.subtract(b);
        assertArrayEquals(new long[] {1, 4, 9}, diff.indices());
        assertArrayEquals(new float[] {1f, 1.5f, -3f}, diff.values(), 0f);
        assertArrayEquals(new float[] {-1f, -2f}, a.negate().values(), 0f);
        assertThrows(IllegalArgumentException.class, () -> a.add(SparseDelta.empty("a.weight", new long[] {4, 3})));
    }

    @Test
    void composedDeltaEqualsApplyingOneAfterTheOther() {
        try (NDManager m = Compute.newManager()) {
            SparseDelta a = SparseDelta.of("a.weight", SHAPE, new long[] {0, 3, 8}, new float[] {0.1f, 0.2f, 0.3f});
            SparseDelta b = SparseDelta.of("a.weight", SHAPE, new long[] {3, 11}, new float[] {-0.4f, 0.5f});
            NDArray w = m.create(W, new Shape(3, 4));
            float[] sequential = b.applyTo(a.applyTo(w)).toFloatArray();
            float[] composed = a.add(b).applyTo(w).toFloatArray();
            assertArrayEquals(sequential, composed, 1e-6f);
        }
    }
}

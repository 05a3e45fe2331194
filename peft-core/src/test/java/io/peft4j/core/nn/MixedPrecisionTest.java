package io.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.Compute;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Frozen Linear/Embedding weights stored in float16, trainable parameters in float32, on a small net
 * built here: embedding -> trainable adapter -> frozen up/down projections -> trainable head, so the
 * adapter's gradient has to flow back through the frozen float16-stored layers.
 */
class MixedPrecisionTest {
    private static final int VOCAB = 16;
    private static final int DIM = 8;
    private static final int HIDDEN = 16;
    private static final List<String> FROZEN = List.of("embed.weight", "up.weight", "down.weight");
    /** Elements of the frozen Linear/Embedding weights: embed 16x8, up 16x8, down 8x16. */
    private static final long FROZEN_ELEMENTS = VOCAB * DIM + HIDDEN * DIM + DIM * HIDDEN;

    static final class TinyNet extends Module {
        TinyNet() {
            registerModule("embed", new Embedding(VOCAB, DIM));
            registerModule("adapter", new Linear(DIM, DIM, true));
            registerModule("up", new Linear(DIM, HIDDEN, true));
            registerModule("down", new Linear(HIDDEN, DIM, true));
            registerModule("head", new Linear(DIM, 2, true));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray e = call(child("embed"), ps, inputs.singletonOrThrow(), training);
            NDArray h = e.add(call(child("adapter"), ps, e, training));
            h = call(child("down"), ps, call(child("up"), ps, h, training).tanh(), training);
            return new NDList(call(child("head"), ps, h.mean(new int[] {1}), training));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), 2)};
        }
    }

    /** A net with weights drawn from N(0, 0.5) by a seeded Java generator, adapter and head trainable. */
    private static ModuleTree net(long seed) {
        ModuleTree tree = new ModuleTree(new TinyNet(), Compute.newManager());
        Random r = new Random(seed);
        for (NamedParameter p : tree.namedParameters()) {
            Shape s = p.parameter().getShape();
            float[] v = new float[(int) s.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (0.5 * r.nextGaussian());
            }
            p.module().setParameterArray(p.localName(), tree.manager().create(v, s));
        }
        tree.setAllTrainable(false);
        for (NamedParameter p : tree.namedParameters()) {
            if (p.moduleName().equals("adapter") || p.moduleName().equals("head")) {
                p.parameter().freeze(false);
            }
        }
        return tree;
    }

    /** The all-float32 reference holding exactly the values float16 storage keeps (rounded by libtorch's cast). */
    private static ModuleTree roundedNet(long seed) {
        ModuleTree tree = net(seed);
        for (String name : FROZEN) {
            NamedParameter p = tree.parameter(name);
            NDArray w = p.parameter().getArray();
            p.module().setParameterArray(p.localName(), w.toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, true));
        }
        return tree;
    }

    private static NDArray ids(NDManager m, long seed) {
        Random r = new Random(seed);
        int[] v = new int[4 * 5];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(VOCAB);
        }
        return m.create(v, new Shape(4, 5)).toType(DataType.INT64, false);
    }

    /** Mean squared error against fixed targets; returns the loss and leaves the gradients on the parameters. */
    private static float lossAndGradients(ModuleTree tree, NDManager step, long batchSeed) {
        NDArray x = ids(step, batchSeed);
        NDArray target = step.create(new float[] {1f, -1f, 0.5f, 0f, -0.5f, 1f, 0f, 2f}, new Shape(4, 2));
        try (GradientCollector gc = Compute.engine().newGradientCollector()) {
            NDArray out = tree.root().forward(new ParameterStore(step, false), new NDList(x), true).singletonOrThrow();
            NDArray loss = out.sub(target).square().mean();
            gc.backward(loss);
            return loss.getFloat();
        }
    }

    /** Gradients of the trainable parameters by name, copied to the host; gradients are zeroed for the next step. */
    private static Map<String, float[]> takeGradients(ModuleTree tree, NDManager step) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (NamedParameter p : tree.trainableParameters()) {
            NDArray g = p.parameter().getArray().getGradient();
            g.attach(step);
            out.put(p.name(), g.toFloatArray());
            g.subi(g);
        }
        return out;
    }

    private static void assertClose(Map<String, float[]> want, Map<String, float[]> got, double relative, String what) {
        assertEquals(want.keySet(), got.keySet());
        for (String k : want.keySet()) {
            float[] a = want.get(k);
            float[] b = got.get(k);
            double scale = 0;
            for (float v : a) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < a.length; i++) {
                if (Math.abs(a[i] - b[i]) > relative * scale) {
                    throw new AssertionError(what + ": " + k + "[" + i + "] want " + a[i] + ", got " + b[i]
                            + " (tolerance " + relative + " x " + scale + ")");
                }
            }
        }
    }

    @Test
    void frozenWeightsTakeHalfTheBytesAndTrainableOnesStayFloat32() {
        try (ModuleTree tree = net(1)) {
            long before = tree.weightBytes();
            List<String> changed = MixedPrecision.apply(tree);
            assertEquals(FROZEN, changed);
            // Only the frozen weights shrink, from 4 to 2 bytes an element; biases and trainable ones keep 4.
            assertEquals(before - 2 * FROZEN_ELEMENTS, tree.weightBytes());
            long frozenBytes = 0;
            for (String name : FROZEN) {
                NDArray w = tree.parameter(name).parameter().getArray();
                assertEquals(DataType.FLOAT16, w.getDataType(), name);
                frozenBytes += w.size() * w.getDataType().getNumOfBytes();
            }
            assertEquals(2 * FROZEN_ELEMENTS, frozenBytes);
            for (NamedParameter p : tree.trainableParameters()) {
                assertEquals(DataType.FLOAT32, p.parameter().getArray().getDataType(), p.name());
            }
            assertEquals(List.of(), MixedPrecision.apply(tree), "a second apply changes nothing");
        }
    }

    /**
     * Against the float32 net holding the same rounded values, the computation is the same float32
     * arithmetic (the widening is exact), so gradients agree to float32 rounding (1e-6 of their scale).
     * Against the original float32 net they differ by the float16 rounding of the frozen weights (relative
     * 2^-11 ~ 5e-4 per weight), which moves these gradients by well under 1e-2 of their scale.
     */
    @Test
    void gradientsMatchTheFloat32Run() {
        try (ModuleTree mixed = net(2); ModuleTree rounded = roundedNet(2); ModuleTree plain = net(2);
                NDManager step = Compute.newManager()) {
            MixedPrecision.apply(mixed);
            lossAndGradients(mixed, step, 7);
            lossAndGradients(rounded, step, 7);
            lossAndGradients(plain, step, 7);
            Map<String, float[]> g = takeGradients(mixed, step);
            assertEquals(List.of("adapter.weight", "adapter.bias", "head.weight", "head.bias"), List.copyOf(g.keySet()));
            assertClose(takeGradients(rounded, step), g, 1e-6, "same values in float32");
            assertClose(takeGradients(plain, step), g, 1e-2, "original float32 weights");
        }
    }

    /** A few SGD steps: the trainable parameters follow the float32 reference's, and the loss falls. */
    @Test
    void trainingStepsFollowTheFloat32Run() {
        try (ModuleTree mixed = net(3); ModuleTree rounded = roundedNet(3)) {
            MixedPrecision.apply(mixed);
            float first = Float.NaN;
            float last = Float.NaN;
            for (int s = 0; s < 8; s++) {
                for (ModuleTree tree : List.of(mixed, rounded)) {
                    try (NDManager step = tree.manager().newSubManager()) {
                        float loss = lossAndGradients(tree, step, 100);
                        if (tree == mixed) {
                            first = s == 0 ? loss : first;
                            last = loss;
                        }
                        for (NamedParameter p : tree.trainableParameters()) {
                            NDArray w = p.parameter().getArray();
                            NDArray g = w.getGradient();
                            g.attach(step);
                            w.subi(g.mul(0.1f));
                            g.subi(g);
                        }
                    }
                }
            }
            assertTrue(last < first, "loss falls: " + first + " -> " + last);
            Map<String, float[]> a = new LinkedHashMap<>();
            Map<String, float[]> b = new LinkedHashMap<>();
            for (NamedParameter p : mixed.trainableParameters()) {
                assertEquals(DataType.FLOAT32, p.parameter().getArray().getDataType(), p.name());
                a.put(p.name(), p.parameter().getArray().toFloatArray());
                b.put(p.name(), rounded.parameter(p.name()).parameter().getArray().toFloatArray());
            }
            assertClose(b, a, 1e-5, "after 8 steps");
            for (String name : FROZEN) {
                assertEquals(DataType.FLOAT16, mixed.parameter(name).parameter().getArray().getDataType(), name);
            }
        }
    }

    /** Storage follows trainability, and restoreFloat32 undoes it all. */
    @Test
    void storageFollowsTrainability() {
        try (ModuleTree tree = net(4)) {
            MixedPrecision.apply(tree);
            tree.parameter("up.weight").parameter().freeze(false);
            tree.parameter("head.weight").parameter().freeze(true);
            assertEquals(List.of("up.weight", "head.weight"), MixedPrecision.apply(tree));
            assertEquals(DataType.FLOAT32, tree.parameter("up.weight").parameter().getArray().getDataType());
            assertTrue(tree.parameter("up.weight").isTrainable(), "converting keeps trainability");
            assertEquals(DataType.FLOAT16, tree.parameter("head.weight").parameter().getArray().getDataType());
            assertEquals(List.of("embed.weight", "down.weight", "head.weight"), MixedPrecision.restoreFloat32(tree));
            for (NamedParameter p : tree.namedParameters()) {
                assertEquals(DataType.FLOAT32, p.parameter().getArray().getDataType(), p.name());
            }
        }
    }

    /** The per-step float32 copies belong to the step: the model's manager holds as many arrays after as before. */
    @Test
    void widenedCopiesDoNotStayInTheModel() {
        try (ModuleTree tree = net(5)) {
            MixedPrecision.apply(tree);
            int before = tree.manager().getManagedArrays().size();
            for (int s = 0; s < 5; s++) {
                try (NDManager step = tree.manager().newSubManager()) {
                    lossAndGradients(tree, step, s);
                    takeGradients(tree, step);
                }
            }
            assertEquals(before, tree.manager().getManagedArrays().size());
        }
    }
}

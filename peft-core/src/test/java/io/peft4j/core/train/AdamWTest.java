package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.LayerNorm;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.ModuleDict;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.PassThroughModule;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * AdamW against a double-precision transcription of PyTorch's {@code torch.optim.AdamW} (non-amsgrad):
 * {@code p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps)},
 * with {@code t} the parameter's own step count.
 *
 * <p>Tolerance 2e-6 absolute on weights of order 1: the float32 implementation rounds each of about ten
 * operations to 6e-8 relative, and the update itself is of order {@code lr} = 1e-2.
 */
class AdamWTest {
    private static final float LR = 1e-2f;
    private static final float WD = 0.5f; // large, so a wrongly applied or missing decay is far above tolerance
    private static final double B1 = 0.9;
    private static final double B2 = 0.999;
    private static final double EPS = 1e-8;
    private static final double TOL = 2e-6;

    private PeftModel model;
    private NDManager grads;

    /** A module of the RMS-norm kind with a parameter called weight, as a decoder's RMSNorm will have. */
    static final class RmsNormLike extends PassThroughModule {
        RmsNormLike(long dim) {
            registerParameter("weight", Parameter.Type.WEIGHT, new Shape(dim), Initializer.ONES);
        }

        @Override
        public ModuleKind kind() {
            return ModuleKind.RMS_NORM;
        }
    }

    /** An OTHER-kind module whose WEIGHT-type parameter is called "bias": the role decides, not the name. */
    static final class OddlyNamed extends PassThroughModule {
        OddlyNamed() {
            registerParameter("bias", Parameter.Type.WEIGHT, new Shape(3), Initializer.ONES);
        }

        @Override
        public ModuleKind kind() {
            return ModuleKind.OTHER;
        }
    }

    @BeforeEach
    void build() {
        ModuleDict root = new ModuleDict();
        root.put("dense", new Linear(3, 2, true));
        root.put("norm", new LayerNorm(2, 1e-5f));
        root.put("rms", new RmsNormLike(2));
        root.put("odd", new OddlyNamed());
        model = new PeftModel(root, Compute.newManager(), "adamw-test", "ModuleDict");
        model.initializeMissing();
        Random r = new Random(1);
        for (NamedParameter p : model.namedParameters()) {
            float[] v = new float[(int) p.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            p.module().setParameterArray(p.localName(), model.manager().create(v, p.parameter().getShape()));
        }
        grads = model.manager().newSubManager();
    }

    @AfterEach
    void close() {
        model.close();
    }

    /** Double reference state of one parameter. */
    private static final class Ref {
        double[] w;
        double[] m;
        double[] v;
        int t;

        Ref(float[] w) {
            this.w = LinearRegression.toDouble(w);
            this.m = new double[w.length];
            this.v = new double[w.length];
        }

        void step(double[] g, double lr, double wd) {
            t++;
            for (int i = 0; i < w.length; i++) {
                w[i] *= 1 - lr * wd;
                m[i] = B1 * m[i] + (1 - B1) * g[i];
                v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(B1, t));
                double vHat = v[i] / (1 - Math.pow(B2, t));
                w[i] -= lr * mHat / (Math.sqrt(vHat) + EPS);
            }
        }
    }

    private static double[] randomGradient(Random r, int n) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (0.1 * r.nextGaussian());
        }
        return g;
    }

    private NDArray array(double[] g, NamedParameter p) {
        float[] f = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            f[i] = (float) g[i];
        }
        return grads.create(f, p.parameter().getShape());
    }

    private static void assertClose(double[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], TOL, what + "[" + i + "]");
        }
    }

    @Test
    void decayExemptionsFollowTheParameterRole() {
        Map<String, Boolean> want = Map.of("dense.weight", true, "dense.bias", false, "norm.weight", false,
                "norm.bias", false, "rms.weight", false, "odd.bias", true);
        for (NamedParameter p : model.namedParameters()) {
            assertEquals(want.get(p.name()), AdamW.decays(p), p.name());
        }
    }

    @Test
    void twoStepsMatchPyTorchsFormulaWithDecayOnlyWhereTheRoleAllows() {
        Random r = new Random(2);
        Map<String, Ref> refs = new LinkedHashMap<>();
        model.namedParameters().forEach(p -> refs.put(p.name(), new Ref(p.parameter().getArray().toFloatArray())));
        try (AdamW opt = new AdamW(model.manager(), (float) B1, (float) B2, (float) EPS, WD)) {
            for (int step = 0; step < 2; step++) {
                Map<NamedParameter, NDArray> g = new LinkedHashMap<>();
                for (NamedParameter p : model.namedParameters()) {
                    double[] gd = randomGradient(r, (int) p.size());
                    g.put(p, array(gd, p));
                    refs.get(p.name()).step(gd, LR, AdamW.decays(p) ? WD : 0);
                }
                try (NDManager sm = model.manager().newSubManager()) {
                    opt.step(g, LR, sm);
                }
            }
            assertEquals(2, opt.steps());
        }
        for (NamedParameter p : model.namedParameters()) {
            assertClose(refs.get(p.name()).w, p.parameter().getArray().toFloatArray(), p.name());
        }
    }

    @Test
    void stateFollowsTheTrainableSetAndCountsStepsPerParameter() {
        NamedParameter a = model.parameter("dense.weight");
        NamedParameter b = model.parameter("odd.bias");
        Ref ra = new Ref(a.parameter().getArray().toFloatArray());
        Ref rb = new Ref(b.parameter().getArray().toFloatArray());
        Random r = new Random(3);
        try (AdamW opt = new AdamW(model.manager(), (float) B1, (float) B2, (float) EPS, 0f)) {
            double[] ga = randomGradient(r, (int) a.size());
            ra.step(ga, LR, 0);
            opt.step(Map.of(a, array(ga, a)), LR, grads);
            // b joins at the optimizer's second step: its bias correction is that of its own first step.
            ga = randomGradient(r, (int) a.size());
            double[] gb = randomGradient(r, (int) b.size());
            ra.step(ga, LR, 0);
            rb.step(gb, LR, 0);
            Map<NamedParameter, NDArray> both = new LinkedHashMap<>();
            both.put(a, array(ga, a));
            both.put(b, array(gb, b));
            opt.step(both, LR, grads);
            assertClose(ra.w, a.parameter().getArray().toFloatArray(), "a after 2 steps");
            assertClose(rb.w, b.parameter().getArray().toFloatArray(), "b after its first step");
            assertEquals(1.0, opt.state().get("step.odd.bias").scalar());
            assertEquals(2.0, opt.state().get("step.dense.weight").scalar());
            // a is frozen: its moments go.
            gb = randomGradient(r, (int) b.size());
            rb.step(gb, LR, 0);
            opt.step(Map.of(b, array(gb, b)), LR, grads);
            assertEquals(java.util.Set.of("odd.bias"), opt.parameterNames());
            assertFalse(opt.state().containsKey("exp_avg.dense.weight"));
            assertClose(rb.w, b.parameter().getArray().toFloatArray(), "b after its second step");
        }
    }

    @Test
    void resetStateZeroesTheMomentsOfTheGivenElementsOnly() {
        NamedParameter a = model.parameter("dense.weight"); // 6 elements
        Ref ra = new Ref(a.parameter().getArray().toFloatArray());
        Random r = new Random(4);
        try (AdamW opt = new AdamW(model.manager(), (float) B1, (float) B2, (float) EPS, 0f)) {
            for (int s = 0; s < 2; s++) {
                double[] g = randomGradient(r, (int) a.size());
                ra.step(g, LR, 0);
                opt.step(Map.of(a, array(g, a)), LR, grads);
            }
            opt.resetState("dense.weight", grads.create(new long[] {0, 4}));
            for (int i : new int[] {0, 4}) {
                ra.m[i] = 0;
                ra.v[i] = 0;
            }
            Map<String, Tensor> state = opt.state();
            float[] m = state.get("exp_avg.dense.weight").toFloatArray();
            float[] v = state.get("exp_avg_sq.dense.weight").toFloatArray();
            assertArrayEquals(new long[] {2, 3}, state.get("exp_avg.dense.weight").shape());
            for (int i = 0; i < 6; i++) {
                assertEquals(ra.m[i], m[i], 1e-8, "m[" + i + "]");
                assertEquals(ra.v[i], v[i], 1e-9, "v[" + i + "]");
            }
            assertEquals(0f, m[0]);
            assertEquals(0f, v[4]);
            double[] g = randomGradient(r, (int) a.size());
            ra.step(g, LR, 0);
            opt.step(Map.of(a, array(g, a)), LR, grads);
            assertClose(ra.w, a.parameter().getArray().toFloatArray(), "after the reset and one more step");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> opt.resetState("dense.weight", grads.create(new int[] {1})));
            assertTrue(e.getMessage().contains("dense.weight") && e.getMessage().contains("int64"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> opt.resetState("dense.weight", grads.create(new long[] {6})));
            assertTrue(e.getMessage().contains("[0, 6)"), e.getMessage());
        }
    }

    @Test
    void savedStateContinuesBitForBit() {
        NamedParameter a = model.parameter("dense.weight");
        NamedParameter b = model.parameter("norm.weight");
        Random r = new Random(5);
        double[][] g = new double[4][];
        for (int i = 0; i < g.length; i++) {
            g[i] = randomGradient(r, 6);
        }
        float[] a0 = a.parameter().getArray().toFloatArray();
        Map<String, Tensor> saved;
        float[] straight;
        try (AdamW opt = new AdamW(model.manager(), (float) B1, (float) B2, (float) EPS, WD)) {
            opt.step(Map.of(a, array(g[0], a)), LR, grads);
            opt.step(Map.of(a, array(g[1], a), b, array(new double[] {0.1, -0.2}, b)), LR, grads);
            saved = opt.state();
            float[] mid = a.parameter().getArray().toFloatArray();
            opt.step(Map.of(a, array(g[2], a)), LR, grads);
            straight = a.parameter().getArray().toFloatArray();
            a.module().setParameterArray("weight", model.manager().create(mid, a.parameter().getShape()));
        }
        try (AdamW opt = new AdamW(model.manager(), (float) B1, (float) B2, (float) EPS, WD)) {
            opt.load(saved, 2);
            assertEquals(2, opt.steps());
            opt.step(Map.of(a, array(g[2], a)), LR, grads);
            assertArrayEquals(straight, a.parameter().getArray().toFloatArray());
        }
        assertFalse(java.util.Arrays.equals(a0, straight));
    }
}

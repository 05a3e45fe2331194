package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.NamedParameter;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The trainer's hooks on a linear model under mean squared error, whose gradient has a closed form
 * computed in double precision ({@link LinearRegression}). Gradients have magnitudes of order 1 to 10;
 * float32 sums over 8 examples agree with the double reference to a few 1e-7 relative, so gradient
 * comparisons use 1e-5 relative.
 */
class TrainerCallbackTest {
    private static final LinearRegression DATA = new LinearRegression(8, 11);

    private static TrainingConfig.Builder config() {
        return TrainingConfig.builder().epochs(1).batchSize(8).learningRate(0.1f).maxGradNorm(0).progressBar(false);
    }

    private static Trainer trainer(PeftModel m, TrainingConfig c) {
        return new Trainer(m, new LinearRegression.MeanSquaredError(), c);
    }

    /** Host copies of the step-0 gradients by parameter name, and the step's pre-clipping norm. */
    private static final class Capture implements TrainerCallback {
        final Map<String, float[]> grads = new HashMap<>();
        final Map<String, float[]> clipped = new HashMap<>();
        double norm = Double.NaN;

        @Override
        public void afterBackward(StepContext s) {
            if (s.step() == 0) {
                s.gradients().forEach((p, g) -> grads.put(p.name(), g.toFloatArray()));
            }
        }

        @Override
        public void afterOptimizerStep(StepContext s) {
            if (s.step() == 0) {
                norm = s.gradNorm();
                s.gradients().forEach((p, g) -> clipped.put(p.name(), g.toFloatArray()));
            }
        }
    }

    private static void assertGradient(double[] want, float[] got, String what) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), what + "[" + i + "]");
        }
    }

    private static double[][] referenceGradient(PeftModel m) {
        return DATA.gradient(LinearRegression.toDouble(m.parameter("weight").parameter().getArray().toFloatArray()),
                LinearRegression.toDouble(m.parameter("bias").parameter().getArray().toFloatArray()));
    }

    private static double norm(double[]... parts) {
        double sq = 0;
        for (double[] p : parts) {
            for (double x : p) {
                sq += x * x;
            }
        }
        return Math.sqrt(sq);
    }

    @Test
    void accumulatingTwoBatchesOfFourGivesTheGradientOfOneBatchOfEight() {
        float[][] after = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (PeftModel m = LinearRegression.model(5)) {
                double[][] want = referenceGradient(m);
                Capture c = new Capture();
                TrainingConfig cfg = run == 0 ? config().build() : config().batchSize(4).gradientAccumulationSteps(2).build();
                trainer(m, cfg).addCallback(c).fit(DATA.batches(), null);
                String what = run == 0 ? "one batch of 8" : "2 x 4 accumulated";
                assertGradient(want[0], c.grads.get("weight"), what + ": dL/dW");
                assertGradient(want[1], c.grads.get("bias"), what + ": dL/db");
                assertEquals(norm(want), c.norm, 1e-5 * norm(want), what + ": global norm");
                after[run] = m.parameter("weight").parameter().getArray().toFloatArray();
            }
        }
        // Adam's first step is lr * g / (|g| + eps) per element: equal gradients give equal weights up to rounding.
        assertArrayEquals(after[0], after[1], 1e-6f);
    }

    @Test
    void clippingInTheTrainerBringsTheGlobalNormToTheMaximum() {
        try (PeftModel m = LinearRegression.model(6)) {
            double[][] want = referenceGradient(m);
            double max = norm(want) / 4;
            Capture c = new Capture();
            trainer(m, config().maxGradNorm((float) max).build()).addCallback(c).fit(DATA.batches(), null);
            assertEquals(norm(want), c.norm, 1e-5 * norm(want), "reported norm is the one before clipping");
            double clipped = norm(LinearRegression.toDouble(c.clipped.get("weight")),
                    LinearRegression.toDouble(c.clipped.get("bias")));
            assertEquals(max, clipped, 1e-5 * max, "norm the optimizer saw");
        }
    }

    @Test
    void afterBackwardMayChangeTheGradients() {
        try (PeftModel m = LinearRegression.model(7)) {
            float[] w0 = m.parameter("weight").parameter().getArray().toFloatArray();
            float[] b0 = m.parameter("bias").parameter().getArray().toFloatArray();
            trainer(m, config().build()).addCallback(new TrainerCallback() {
                @Override
                public void afterBackward(StepContext s) {
                    s.gradients().forEach((p, g) -> {
                        if (p.localName().equals("weight")) {
                            g.muli(0f); // a mask that keeps nothing of W
                        }
                    });
                }
            }).fit(DATA.batches(), null);
            assertArrayEquals(w0, m.parameter("weight").parameter().getArray().toFloatArray(), "masked: unchanged");
            assertFalse(java.util.Arrays.equals(b0, m.parameter("bias").parameter().getArray().toFloatArray()));
        }
    }

    @Test
    void aNonFiniteGradientSkipsTheStepAndDoesNotPoisonTheNext() {
        try (PeftModel m = LinearRegression.model(8)) {
            float[] w0 = m.parameter("weight").parameter().getArray().toFloatArray();
            double[][] want = referenceGradient(m);
            List<float[]> grads = new ArrayList<>();
            List<Boolean> skipped = new ArrayList<>();
            List<Long> optimizerSteps = new ArrayList<>();
            List<float[]> weights = new ArrayList<>();
            Trainer t = trainer(m, config().epochs(2).build()).addCallback(new TrainerCallback() {
                @Override
                public void afterBackward(StepContext s) {
                    for (Map.Entry<NamedParameter, NDArray> e : s.gradients().entrySet()) {
                        if (e.getKey().localName().equals("weight")) {
                            grads.add(e.getValue().toFloatArray());
                            if (s.step() == 0) {
                                e.getValue().divi(0f); // x/0: infinities
                                e.getValue().set(new ai.djl.ndarray.index.NDIndex("0, 0"), Float.NaN);
                            }
                        }
                    }
                }

                @Override
                public void afterOptimizerStep(StepContext s) {
                    skipped.add(s.skipped());
                    optimizerSteps.add(s.optimizer().steps());
                    weights.add(s.model().parameter("weight").parameter().getArray().toFloatArray());
                }
            });
            t.fit(DATA.batches(), null);
            assertEquals(List.of(true, false), skipped);
            assertEquals(List.of(0L, 1L), optimizerSteps, "a skipped step is not an AdamW step");
            assertArrayEquals(w0, weights.get(0), "the skipped step left the weights alone");
            // The second step starts from the same weights, so its gradient is the clean closed form again.
            assertGradient(want[0], grads.get(1), "gradient after the skipped step");
            assertFalse(Double.isFinite(t.history().steps().get(0).gradNorm()));
            assertTrue(Double.isFinite(t.history().steps().get(1).gradNorm()));
        }
    }

    @Test
    void hooksRunInOrderThroughStagesAndTheTrainableSetMayChange() {
        List<String> events = new ArrayList<>();
        List<Float> rates = new ArrayList<>();
        List<Set<String>> trained = new ArrayList<>();
        Batches data = DATA.batches();
        try (PeftModel m = LinearRegression.model(9)) {
            Stage first = Stage.builder("first", data).onStart(x -> events.add("start first")).build();
            Stage second = Stage.builder("second", data).onStart(x -> {
                events.add("start second");
                x.parameter("bias").parameter().freeze(true);
            }).build();
            Map<String, float[]> biasAtBoundary = new HashMap<>();
            Trainer t = trainer(m, config().batchSize(4).build()).addCallback(new TrainerCallback() {
                @Override
                public void onStageBoundary(StepContext s) {
                    events.add("boundary " + s.stage().name() + "@" + s.step());
                    biasAtBoundary.put(s.stage().name(), s.model().parameter("bias").parameter().getArray().toFloatArray());
                }

                @Override
                public void onStepBegin(StepContext s) {
                    events.add("begin@" + s.step());
                    rates.add(s.learningRate());
                }

                @Override
                public void afterBackward(StepContext s) {
                    events.add("backward@" + s.step());
                    trained.add(s.gradients().keySet().stream().map(NamedParameter::name).collect(Collectors.toSet()));
                }

                @Override
                public void afterOptimizerStep(StepContext s) {
                    events.add("step@" + s.step());
                }

                @Override
                public void onEpochEnd(StepContext s, EpochResult r) {
                    events.add("epoch " + r.stage() + " " + r.epoch() + "@" + s.step());
                }
            });
            List<EpochResult> results = t.fit(List.of(first, second), null);
            assertEquals(List.of("start first", "boundary first@0", "begin@0", "backward@0", "step@0",
                    "begin@1", "backward@1", "step@1", "epoch first 1@2",
                    "start second", "boundary second@2", "begin@2", "backward@2", "step@2",
                    "begin@3", "backward@3", "step@3", "epoch second 2@4"), events);
            assertEquals(2, results.size());
            // One linear schedule over the 4 steps of both stages, no warm-up: lr * (4 - step) / 4.
            assertEquals(List.of(0.1f, 0.075f, 0.05f, 0.025f), rates);
            assertEquals(List.of(Set.of("weight", "bias"), Set.of("weight", "bias"), Set.of("weight"), Set.of("weight")),
                    trained);
            assertArrayEquals(biasAtBoundary.get("second"), m.parameter("bias").parameter().getArray().toFloatArray(),
                    "frozen in the second stage");
        }
    }

    /**
     * Native memory stays flat through clipping, callbacks, gradient edits and moment resets: the arrays
     * under the model's manager (sub-managers included) are as many at the start of the 20th step as at
     * the start of the 3rd, once every parameter has its moments.
     */
    @Test
    void stepsLeaveNoArraysBehind() {
        List<Integer> counts = new ArrayList<>();
        try (PeftModel m = LinearRegression.model(10)) {
            trainer(m, config().batchSize(2).epochs(5).maxGradNorm(0.5f).build()).addCallback(new TrainerCallback() {
                @Override
                public void onStepBegin(StepContext s) {
                    if (s.step() == 2 || s.step() == 19) {
                        counts.add(s.model().manager().getManagedArrays().size());
                    }
                }

                @Override
                public void afterBackward(StepContext s) {
                    s.gradients().values().forEach(g -> g.muli(s.manager().create(0.5f)));
                }

                @Override
                public void afterOptimizerStep(StepContext s) {
                    s.optimizer().resetState("weight", s.manager().create(new long[] {1, 2}));
                }
            }).fit(DATA.batches(), null);
        }
        assertEquals(2, counts.size());
        assertEquals(counts.get(0), counts.get(1), "managed arrays at steps 3 and 20");
    }
}

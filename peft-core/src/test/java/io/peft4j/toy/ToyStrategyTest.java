package io.peft4j.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Issue 9's acceptance test: a toy method ({@link ToyDeltaStrategy}, a dense trainable delta on the
 * query/value layers of a tiny BERT) written in a package outside {@code io.peft4j.core}, so only
 * peft-core's public API is used, trained through the {@link Trainer} with a callback
 * ({@link PhaseSwitch}) that changes the trainable set mid-run, crashed and resumed, saved and loaded
 * through {@link Peft}, and merged. Every expectation is computed in the test or taken from a run that
 * never stopped.
 */
class ToyStrategyTest {
    private static final String L0 = "bert.encoder.layer.0.attention.self.";
    private static final String L1 = "bert.encoder.layer.1.attention.self.";
    private static final String DELTA = "." + ToyDeltaLayer.DELTA;
    private static final Set<String> L0_DELTAS = Set.of(L0 + "query" + DELTA, L0 + "value" + DELTA);
    private static final Set<String> L1_DELTAS = Set.of(L1 + "query" + DELTA, L1 + "value" + DELTA);
    /** 64 examples in batches of 8 for 2 epochs: 16 optimizer steps; layer 1 trains from the ninth on. */
    private static final int STEPS = 16;
    private static final long SWITCH = 8;

    @TempDir
    Path dir;

    private static ToyDeltaConfig config() {
        return ToyDeltaConfig.builder().targetModules("query", "value").build();
    }

    private static TrainingConfig.Builder training() {
        return TrainingConfig.builder().epochs(2).batchSize(8).learningRate(1e-2f).warmupRatio(0.1f).weightDecay(0.01f)
                .seed(7).progressBar(false);
    }

    /** The loss of every optimizer step by its 0-based index. */
    static final class LossLog implements TrainerCallback {
        final TreeMap<Long, Float> losses = new TreeMap<>();

        @Override
        public String name() {
            return "loss-log";
        }

        @Override
        public void afterOptimizerStep(StepContext s) {
            losses.put(s.step(), s.loss());
        }
    }

    /** Tolerance 1e-5: float32 dot products of length 32 with terms below 1 in size, against double. */
    @Test
    void forwardWithTheDeltaIsTheClosedForm() {
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            Peft.wrap(m, config());
            ToyDeltaLayer layer = (ToyDeltaLayer) m.module(L0 + "query");
            Linear base = (Linear) layer.base();
            int out = (int) base.outFeatures();
            int in = (int) base.inFeatures();
            float[] d = new float[out * in];
            for (int k = 0; k < d.length; k++) {
                d[k] = 0.1f * (float) Math.sin(0.37 * k + 1);
            }
            layer.deltaArray().set(d);
            float[] w = base.weight().toFloatArray();
            float[] b = base.bias().toFloatArray();
            int n = 3;
            float[] x = new float[n * in];
            for (int k = 0; k < x.length; k++) {
                x[k] = (float) Math.cos(0.11 * k);
            }
            float[] y;
            try (NDManager step = m.manager().newSubManager()) {
                NDArray xs = step.create(x, new Shape(n, in));
                y = layer.forward(new ParameterStore(step, false), new NDList(xs), false).singletonOrThrow().toFloatArray();
            }
            for (int r = 0; r < n; r++) {
                for (int o = 0; o < out; o++) {
                    double want = b[o];
                    for (int i = 0; i < in; i++) {
                        want += (double) x[r * in + i] * ((double) w[o * in + i] + d[o * in + i]);
                    }
                    assertEquals(want, y[r * out + o], 1e-5, "y[" + r + "," + o + "] = x (W + D)^T + b");
                }
            }
        }
    }

    @Test
    void phasesTrainOnlyTheirDeltasAndAResumedRunIsBitIdentical() throws Exception {
        Batches data = TinyBert.task(64, 4);

        // The straight run, with snapshots before, at the switch and after.
        Map<String, float[]> initial;
        Map<String, float[]> atSwitch;
        Map<String, float[]> straight;
        Set<String> straightTrainable;
        LossLog straightLosses = new LossLog();
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Peft.wrap(m, config());
            initial = Weights.snapshot(m);
            PhaseSwitch phases = new PhaseSwitch(List.of(0, 1), SWITCH);
            new Trainer(m, training().build()).addCallback(phases).addCallback(straightLosses).fit(data, null);
            assertEquals(SWITCH, phases.switchedAt());
            atSwitch = phases.weightsAtSwitch();
            straight = Weights.snapshot(m);
            straightTrainable = PhaseSwitch.names(m.trainableParameters());
        }
        assertEquals(STEPS, straightLosses.losses.size());
        assertEquals(L1_DELTAS, straightTrainable, "phase 1 trains layer 1's deltas only");
        for (String k : initial.keySet()) {
            if (L0_DELTAS.contains(k)) {
                assertFalse(java.util.Arrays.equals(initial.get(k), atSwitch.get(k)), k + " trained in phase 0");
                assertArrayEquals(atSwitch.get(k), straight.get(k), k + " frozen in phase 1");
            } else if (L1_DELTAS.contains(k)) {
                assertArrayEquals(initial.get(k), atSwitch.get(k), k + " frozen in phase 0");
                assertFalse(java.util.Arrays.equals(atSwitch.get(k), straight.get(k)), k + " trained in phase 1");
            } else {
                assertArrayEquals(initial.get(k), straight.get(k), k + " never trained, so bit-identical to its start");
            }
        }

        // A run that crashes after the checkpoint at step 10, then one that resumes from it.
        Path ckpt = dir.resolve("ckpt");
        LossLog crashedLosses = new LossLog();
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Peft.wrap(m, config());
            Trainer t = new Trainer(m, training().checkpoints(ckpt, 5).build())
                    .addCallback(new PhaseSwitch(List.of(0, 1), SWITCH)).addCallback(crashedLosses).onStep(s -> {
                        if (s == 11) {
                            throw new IllegalStateException("simulated crash");
                        }
                    });
            assertThrows(IllegalStateException.class, () -> t.fit(data, null));
        }
        LossLog resumedLosses = new LossLog();
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Peft.wrap(m, config());
            // Built with the other order: only restore() from the checkpoint makes it train layer 1 now.
            PhaseSwitch phases = new PhaseSwitch(List.of(1, 0), SWITCH);
            new Trainer(m, training().checkpoints(ckpt, 5).build()).addCallback(phases).addCallback(resumedLosses)
                    .fit(data, null);
            Map<String, float[]> resumed = Weights.snapshot(m);
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), k + " after resuming");
            }
            assertEquals(straightTrainable, PhaseSwitch.names(m.trainableParameters()));
            assertEquals(List.of(0, 1), phases.order(), "order restored from callback-phase-switch.json");
            assertEquals(1, phases.phase());
            assertEquals(-1, phases.switchedAt(), "the resumed run started past the switch");
            assertEquals(10L, resumedLosses.losses.firstKey(), "resumed at the checkpoint");
        }
        Map<Long, Float> losses = new TreeMap<>(crashedLosses.losses);
        losses.putAll(resumedLosses.losses);
        assertEquals(straightLosses.losses, losses, "per-step losses of crashed + resumed runs, bit for bit");
    }

    /**
     * Merged logits against unmerged: both compute with the float32 sum {@code W + D}, the merged model
     * once at merge, the unmerged one per forward, so they agree to float32 rounding of the logits'
     * sums; tolerance 1e-5.
     */
    @Test
    void savedDeltasLoadExactlyAndMergeIntoTheBase() throws Exception {
        Path adapter = dir.resolve("trained");
        Map<String, float[]> trained;
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            PeftAdapter<ToyDeltaConfig> toy = Peft.wrap(m, config());
            new Trainer(m, training().epochs(1).build()).addCallback(new PhaseSwitch(List.of(0, 1), 4))
                    .fit(TinyBert.task(64, 4), null);
            trained = Weights.snapshot(m);
            toy.save(adapter);
        }
        Map<String, Tensor> saved = AdapterFiles.readTensors(adapter);
        Set<String> keys = Set.of("base_model.model." + L0 + "query.toy_delta", "base_model.model." + L0 + "value.toy_delta",
                "base_model.model." + L1 + "query.toy_delta", "base_model.model." + L1 + "value.toy_delta");
        assertEquals(keys, saved.keySet(), "HF PEFT's key layout in adapter_model.safetensors");

        float[] baseLogits;
        try (PeftModel fresh = TinyBert.classifier(5, 0f)) {
            baseLogits = logits(fresh);
            PeftAdapter<PeftConfig> loaded = Peft.load(fresh, adapter);
            // The save records the base model's name, as HF PEFT does.
            assertEquals(config().toJson().put("base_model_name_or_path", "tiny-bert"), loaded.config().toJson());
            assertEquals("TOY_DELTA", loaded.peftType());
            assertTrue(fresh.trainableParameters().isEmpty(), "loaded for inference");
            Map<String, float[]> got = Weights.snapshot(fresh);
            assertEquals(trained.keySet(), got.keySet());
            trained.forEach((k, v) -> assertArrayEquals(v, got.get(k), k + " restored exactly"));

            float[] unmerged = logits(fresh);
            boolean changed = false;
            for (int i = 0; i < unmerged.length; i++) {
                changed |= Math.abs(unmerged[i] - baseLogits[i]) > 1e-4;
            }
            assertTrue(changed, "the trained deltas change the logits");

            PeftModel merged = loaded.mergeAndUnload();
            assertTrue(merged.adapters().isEmpty());
            assertFalse(merged.namedModules().values().stream().anyMatch(mod -> mod instanceof ToyDeltaLayer));
            float[] w = ((Linear) merged.module(L1 + "value")).weight().toFloatArray();
            float[] w0 = trained.get(L1 + "value.base_layer.weight");
            float[] d = trained.get(L1 + "value" + DELTA);
            for (int k = 0; k < w.length; k++) {
                // One float32 addition of numbers below 1: within 1e-7 of the double sum.
                assertEquals((double) w0[k] + d[k], w[k], 1e-7, "merged W + D [" + k + "]");
            }
            float[] mergedLogits = logits(merged);
            for (int i = 0; i < unmerged.length; i++) {
                assertEquals(unmerged[i], mergedLogits[i], 1e-5, "logit " + i);
            }
        }
    }

    @Test
    void aLoadThatDoesNotFitFailsClearlyAndLeavesTheModelAsItWas() throws Exception {
        Path bad = dir.resolve("bad");
        String key = "base_model.model." + L0 + "query.toy_delta";
        AdapterFiles.write(bad, config().toJson(), Map.of(key, Tensor.ofFloats(new float[32 * 16], 32, 16)));
        try (PeftModel m = TinyBert.classifier(5, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            Set<String> modules = m.namedModules().keySet();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(m, bad));
            assertTrue(e.getMessage().contains(key) && e.getMessage().contains("[32, 16]")
                    && e.getMessage().contains("expected [32, 32]"), e.getMessage());
            assertEquals(modules, m.namedModules().keySet(), "no layer wrapped");
            assertTrue(m.adapters().isEmpty());
            Map<String, float[]> after = Weights.snapshot(m);
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
        }
    }

    private static float[] logits(PeftModel m) {
        try (NDManager step = m.manager().newSubManager()) {
            Batch b = TinyBert.task(8, 11).batch(step, new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            return m.forward(b, false).logits().toFloatArray();
        }
    }
}

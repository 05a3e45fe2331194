package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.data.Batches;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * SpIEL training on TinyBert (2 layers, hidden 32): the base forward at initialisation, the exact
 * density after every drop/regrow for both growth criteria, regrown values starting at 0 with zero
 * AdamW moments, and optimizer memory proportional to the density.
 */
class SpielTrainingTest {
    static final Batches DATA = TinyBert.task(32, 9);
    /** 32 examples in batches of 4: 8 optimizer steps per epoch. */
    static final int STEPS_PER_EPOCH = 8;

    static SpielConfig.Builder config() {
        return SpielConfig.builder().density(0.05f).modulesToSave("classifier").reselectionSteps(2)
                .selectionAccumulationSteps(1).initialReselectionRate(0.5f);
    }

    static float[] logits(PeftModel m) {
        try (NDManager step = m.manager().newSubManager()) {
            return m.forward(TinyBert.modelInputs(DATA.batch(step, new int[] {0, 1, 2, 3, 4, 5})), false).head()
                    .toFloatArray();
        }
    }

    static void train(PeftModel m, int epochs, TrainerCallback... more) {
        TrainingConfig cfg = TrainingConfig.builder().epochs(epochs).batchSize(4).learningRate(1e-2f)
                .weightDecay(0.01f).progressBar(false).build();
        Trainer t = new Trainer(m, cfg).addCallback(SpielSchedule.of(m, (long) epochs * STEPS_PER_EPOCH));
        for (TrainerCallback c : more) {
            t.addCallback(c);
        }
        t.fit(DATA, null);
    }

    @Test
    void forwardEqualsTheBaseAtInitialisation() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] base = logits(m);
            SpielModel spiel = SpielModel.wrap(m, config().build());
            // Every targeted linear layer (2 layers x 6) carries a delta; the values start at exactly 0.
            assertEquals(12, spiel.layers().size());
            assertArrayEquals(base, logits(m), "W + scatter(indices, 0) is W, bit for bit");
        }
    }

    @Test
    void densityIsExactAfterEveryReselectionWithGradientGrowth() {
        checkReselections(SpielConfig.SelectionAlgorithm.RIGL);
    }

    @Test
    void densityIsExactAfterEveryReselectionWithMomentumGrowth() {
        checkReselections(SpielConfig.SelectionAlgorithm.SM3);
    }

    private static void checkReselections(SpielConfig.SelectionAlgorithm algorithm) {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            SpielModel spiel = SpielModel.wrap(m, config().selectionAlgorithm(algorithm).build());
            long targeted = 0;
            for (SpielLinear l : spiel.layers().values()) {
                targeted += l.numel();
            }
            // The budget: round(0.05 * targeted elements), spread over the layers.
            long budget = Math.round(0.05 * targeted);
            assertEquals(budget, spiel.trainableValues());
            ReselectionCheck check = new ReselectionCheck(spiel, budget);
            train(m, 2, check);
            assertTrue(check.reselections >= 5, "reselections seen: " + check.reselections);
            assertTrue(check.moved > 0, "some values moved");
            assertEquals(budget, spiel.trainableValues());
        }
    }

    /** After every optimizer step: count and uniqueness of positions, and moved slots at 0 with zero moments. */
    static final class ReselectionCheck implements TrainerCallback {
        final SpielModel spiel;
        final long budget;
        final Map<String, long[]> before = new HashMap<>();
        int reselections;
        long moved;

        ReselectionCheck(SpielModel spiel, long budget) {
            this.spiel = spiel;
            this.budget = budget;
        }

        @Override
        public String name() {
            return "reselection-check";
        }

        @Override
        public void onStepBegin(StepContext s) {
            spiel.layers().forEach((p, l) -> before.put(p, l.indicesOf("default").toLongArray()));
        }

        @Override
        public void afterOptimizerStep(StepContext s) {
            long total = 0;
            boolean changed = false;
            Map<String, Tensor> state = s.optimizer().state();
            for (Map.Entry<String, SpielLinear> e : spiel.layers().entrySet()) {
                long[] now = e.getValue().indicesOf("default").toLongArray();
                Set<Long> unique = new HashSet<>();
                for (long p : now) {
                    assertTrue(p >= 0 && p < e.getValue().numel());
                    unique.add(p);
                }
                assertEquals(now.length, unique.size(), "positions unique in " + e.getKey());
                total += now.length;
                float[] values = e.getValue().valuesOf("default").toFloatArray();
                String param = e.getKey() + ".sft_delta.default.values";
                float[] m1 = state.get("exp_avg." + param).toFloatArray();
                float[] m2 = state.get("exp_avg_sq." + param).toFloatArray();
                long[] old = before.get(e.getKey());
                for (int i = 0; i < now.length; i++) {
                    if (now[i] != old[i]) {
                        changed = true;
                        moved++;
                        assertEquals(0f, values[i], "regrown value starts at 0");
                        assertEquals(0f, m1[i], "regrown first moment reset");
                        assertEquals(0f, m2[i], "regrown second moment reset");
                    }
                }
            }
            assertEquals(budget, total, "density exact after step " + s.step());
            if (changed) {
                reselections++;
            }
        }
    }

    @Test
    void optimizerStateGrowsWithDensityNotWithTheModel() {
        long[] bytes = new long[2];
        long[] values = new long[2];
        float[] densities = {0.02f, 0.08f};
        for (int d = 0; d < 2; d++) {
            try (PeftModel m = TinyBert.classifier(1, 0f)) {
                // No modules_to_save: only the sparse values train, so their moments are all the state.
                SpielModel spiel = SpielModel.wrap(m, SpielConfig.builder().density(densities[d]).build());
                values[d] = spiel.trainableValues();
                int at = d;
                train(m, 1, new TrainerCallback() {
                    @Override
                    public void afterOptimizerStep(StepContext s) {
                        long b = 0;
                        for (Map.Entry<String, Tensor> e : s.optimizer().state().entrySet()) {
                            if (!e.getKey().startsWith("step.")) {
                                b += e.getValue().byteSize();
                            }
                        }
                        bytes[at] = b;
                    }
                });
            }
        }
        // Two float32 moments per trained value, nothing for the frozen base.
        assertEquals(8 * values[0], bytes[0]);
        assertEquals(8 * values[1], bytes[1]);
        double ratio = (double) bytes[1] / bytes[0];
        System.out.printf("SpIEL AdamW state: density 0.02 -> %d bytes, 0.08 -> %d bytes (x%.2f)%n", bytes[0], bytes[1],
                ratio);
        assertEquals(4.0, ratio, 0.05, "state bytes follow the density (4x the values, up to rounding per layer)");
    }
}

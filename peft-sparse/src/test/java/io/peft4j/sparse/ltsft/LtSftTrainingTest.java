package io.peft4j.sparse.ltsft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** LT-SFT's two phases on TinyBert: the choice is the top-K change, phase 2 moves only it, resumption is exact. */
class LtSftTrainingTest {
    private static final long K = 500;
    private static final LtSftConfig CONFIG = LtSftConfig.builder().numTunable(K).build();

    @TempDir
    Path dir;

    /** The weights at the sparse phase's boundary, before LT-SFT resets them: θ1. */
    static final class ThetaOne implements TrainerCallback {
        Map<String, float[]> weights;

        @Override
        public String name() {
            return "theta-one";
        }

        @Override
        public void onStageBoundary(StepContext s) {
            if (s.stageIndex() == 1) {
                weights = Weights.snapshot(s.model());
            }
        }
    }

    static TrainingConfig.Builder config() {
        // Weight decay on: masked-out entries must not decay either.
        return TrainingConfig.builder().batchSize(8).learningRate(3e-3f).weightDecay(0.1f).seed(3).progressBar(false);
    }

    /** The maskable names of TinyBert under the default config: everything under {@code bert.}. */
    static boolean maskable(String name) {
        return name.startsWith("bert.");
    }

    /**
     * The top-K flat entries by float |θ1 − θ0| over the maskable tensors in tree order, ties to the
     * earlier tensor then the lower index, computed here on the host.
     */
    static Map<String, Set<Long>> topK(Map<String, float[]> theta0, Map<String, float[]> theta1, long k) {
        List<long[]> all = new ArrayList<>(); // {tensor ordinal, index}
        List<String> names = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        for (String n : theta0.keySet()) {
            if (!maskable(n)) {
                continue;
            }
            names.add(n);
            float[] a = theta0.get(n);
            float[] b = theta1.get(n);
            for (int i = 0; i < a.length; i++) {
                all.add(new long[] {names.size() - 1, i});
                scores.add(Math.abs(b[i] - a[i]));
            }
        }
        Integer[] order = new Integer[all.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> {
            int c = Float.compare(scores.get(y), scores.get(x));
            return c != 0 ? c : Integer.compare(x, y);
        });
        Map<String, Set<Long>> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < k; i++) {
            long[] e = all.get(order[i]);
            out.computeIfAbsent(names.get((int) e[0]), n -> new HashSet<>()).add(e[1]);
        }
        return out;
    }

    @Test
    void phaseTwoMovesOnlyTheTopKChangesAndLeavesEveryOtherEntryBitIdentical() {
        Batches data = TinyBert.task(32, 4); // 4 steps per phase
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            Map<String, float[]> theta0 = Weights.snapshot(m);
            Peft.wrap(m, CONFIG);
            ThetaOne one = new ThetaOne();
            new Trainer(m, config().build()).addCallback(one).addCallback(new LtSftTraining(CONFIG))
                    .fit(LtSftTraining.stages(data, 1, 1), null);
            Map<String, Set<Long>> expected = topK(theta0, one.weights, K);
            Map<String, long[]> chosen = LotteryTicket.of(m).selected();
            assertEquals(expected.keySet(), chosen.keySet());
            long moved = 0;
            Map<String, float[]> theta2 = Weights.snapshot(m);
            for (String n : theta0.keySet()) {
                float[] a = theta0.get(n);
                float[] b = theta2.get(n);
                if (!maskable(n)) {
                    assertFalse(Arrays.equals(a, b), "the dense head trains in full: " + n);
                    continue;
                }
                Set<Long> sel = new HashSet<>();
                Arrays.stream(chosen.getOrDefault(n, new long[0])).forEach(sel::add);
                assertEquals(expected.getOrDefault(n, Set.of()), sel, n);
                for (int i = 0; i < a.length; i++) {
                    if (sel.contains((long) i)) {
                        moved += Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]) ? 1 : 0;
                    } else if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                        throw new AssertionError("unselected entry " + n + "[" + i + "] moved: " + a[i] + " -> " + b[i]);
                    }
                }
            }
            assertTrue(moved > K * 9 / 10, "most chosen entries moved in phase 2: " + moved);
            SparseFineTuning ft = SparseFineTuning.of(m, CONFIG);
            assertEquals(K, ft.deltaEntries());
            assertEquals(Set.of("classifier.weight", "classifier.bias"), ft.dense().keySet());
        }
    }

    @Test
    void theL1PullKeepsChosenEntriesCloserToThetaZero() {
        Batches data = TinyBert.task(32, 4);
        double[] distance = new double[2];
        float[] l1 = {0f, 0.5f};
        for (int r = 0; r < 2; r++) {
            LtSftConfig c = LtSftConfig.builder().numTunable(K).l1Reg(l1[r]).build();
            try (PeftModel m = TinyBert.classifier(9, 0f)) {
                new Trainer(m, config().weightDecay(0f).build()).addCallback(new LtSftTraining(c))
                        .fit(LtSftTraining.stages(data, 1, 2), null);
                for (var d : SparseFineTuning.of(m, c).deltas().values()) {
                    for (float v : d.values()) {
                        distance[r] += Math.abs(v);
                    }
                }
            }
        }
        assertTrue(distance[1] < distance[0], "L1 pull: " + Arrays.toString(distance));
    }

    @Test
    void aRunResumedInPhaseTwoEndsBitIdenticalToTheStraightRun() {
        Batches data = TinyBert.task(32, 4);
        Map<String, float[]> straight;
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            new Trainer(m, config().build()).addCallback(new LtSftTraining(CONFIG)).fit(LtSftTraining.stages(data, 1, 1), null);
            straight = Weights.snapshot(m);
        }
        Path ckpt = dir.resolve("ckpt");
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            Trainer t = new Trainer(m, config().checkpoints(ckpt, 3).build()).addCallback(new LtSftTraining(CONFIG))
                    .onStep(s -> {
                        if (s == 7) {
                            throw new IllegalStateException("simulated crash");
                        }
                    });
            assertThrows(IllegalStateException.class, () -> t.fit(LtSftTraining.stages(data, 1, 1), null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0f)) {
            long[] first = {-1};
            new Trainer(m, config().checkpoints(ckpt, 3).build()).addCallback(new LtSftTraining(CONFIG)).onStep(s -> {
                if (first[0] < 0) {
                    first[0] = s;
                }
            }).fit(LtSftTraining.stages(data, 1, 1), null);
            assertEquals(7, first[0], "resumed after the checkpoint at step 6, in phase 2");
            Map<String, float[]> resumed = Weights.snapshot(m);
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), k);
            }
        }
    }
}

package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A toy sparse strategy written only against the trainer's public hooks: two stages (all parameters,
 * then a few), a random gradient mask chosen at the second stage's start and kept through the
 * checkpoint hook, a trainable set changed by the callback in the middle of a stage, and optimizer
 * moments reset for some elements. A run that crashes and resumes must end bit for bit where the
 * straight run ends, history included.
 */
class ChangingTrainableSetResumeTest {
    private static final String CLASSIFIER = "classifier.weight";
    private static final String L1_QUERY = "bert.encoder.layer.1.attention.self.query.weight";
    private static final String L0_VALUE = "bert.encoder.layer.0.attention.self.value.weight";

    @TempDir
    Path dir;

    /** Masks the classifier's gradient in the second stage; changes the trainable set after step 9. */
    static final class ToySparse implements TrainerCallback {
        private final long seed;
        private float[] mask;
        private Shape shape;

        ToySparse(long seed) {
            this.seed = seed;
        }

        @Override
        public String name() {
            return "toy-sparse";
        }

        @Override
        public void onStageBoundary(StepContext s) {
            if (s.stageIndex() == 1) {
                // Seeded by the instance: a resumed run built with another seed only matches through restore().
                Random r = new Random(seed);
                NamedParameter p = s.model().parameter(CLASSIFIER);
                shape = p.parameter().getShape();
                mask = new float[(int) p.size()];
                for (int i = 0; i < mask.length; i++) {
                    mask[i] = r.nextBoolean() ? 1f : 0f;
                }
            }
        }

        @Override
        public void afterBackward(StepContext s) {
            if (mask == null) {
                return;
            }
            for (Map.Entry<NamedParameter, NDArray> e : s.gradients().entrySet()) {
                if (e.getKey().name().equals(CLASSIFIER)) {
                    e.getValue().muli(s.manager().create(mask, shape));
                }
            }
        }

        @Override
        public void afterOptimizerStep(StepContext s) {
            if (s.step() == 9) {
                s.model().parameter(L1_QUERY).parameter().freeze(true);
                s.model().parameter(L0_VALUE).parameter().freeze(false);
            }
            if (s.step() == 9 || s.step() == 12) {
                s.optimizer().resetState(CLASSIFIER, s.manager().create(new long[] {0, 3, 5}));
            }
        }

        @Override
        public CheckpointState state() {
            if (mask == null) {
                return CheckpointState.empty();
            }
            ObjectNode json = JsonNodeFactory.instance.objectNode().put("masked", CLASSIFIER);
            return CheckpointState.of(Map.of("mask", Tensor.ofFloats(mask, shape.getShape())), json);
        }

        @Override
        public void restore(CheckpointState state) {
            assertEquals(CLASSIFIER, state.json().path("masked").asText());
            Tensor t = state.tensor("mask");
            mask = t.toFloatArray();
            shape = new Shape(t.shape());
        }
    }

    private static List<Stage> stages(Batches data) {
        Stage all = Stage.builder("all", data).onStart(m -> m.setAllTrainable(true)).build();
        Stage few = Stage.builder("few", data).onStart(m -> {
            m.setAllTrainable(false);
            for (String n : List.of(CLASSIFIER, "classifier.bias", L1_QUERY)) {
                m.parameter(n).parameter().freeze(false);
            }
        }).build();
        return List.of(all, few);
    }

    private TrainingConfig.Builder config() {
        return TrainingConfig.builder().batchSize(8).learningRate(3e-3f).warmupRatio(0.1f).weightDecay(0.01f)
                .seed(7).progressBar(false);
    }

    private static Set<String> trainable(PeftModel m) {
        return m.trainableParameters().stream().map(NamedParameter::name).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void resumedRunEqualsTheStraightRunBitForBit() {
        Batches data = TinyBert.task(64, 4); // 8 steps per stage, 16 in all
        Map<String, float[]> straight;
        Set<String> straightTrainable;
        List<TrainingHistory.StepRecord> straightHistory;
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Trainer t = new Trainer(m, config().build()).addCallback(new ToySparse(1));
            t.fit(stages(data), null);
            straight = Weights.snapshot(m);
            straightTrainable = trainable(m);
            straightHistory = t.history().steps();
        }
        assertTrue(straightTrainable.contains(L0_VALUE) && !straightTrainable.contains(L1_QUERY), straightTrainable.toString());

        Path ckpt = dir.resolve("ckpt");
        Path out = dir.resolve("out");
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Trainer t = new Trainer(m, config().checkpoints(ckpt, 5).outputDir(out).build())
                    .addCallback(new ToySparse(1)).onStep(s -> {
                        if (s == 11) {
                            throw new IllegalStateException("simulated crash");
                        }
                    });
            assertThrows(IllegalStateException.class, () -> t.fit(stages(data), null));
        }
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            long[] firstStep = {-1};
            Trainer t = new Trainer(m, config().checkpoints(ckpt, 5).outputDir(out).build())
                    .addCallback(new ToySparse(2)).onStep(s -> {
                        if (firstStep[0] < 0) {
                            firstStep[0] = s;
                        }
                    });
            t.fit(stages(data), null);
            assertEquals(11, firstStep[0], "resumed after the checkpoint at step 10, inside the second stage");
            Map<String, float[]> resumed = Weights.snapshot(m);
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), resumed.get(k), k);
            }
            assertEquals(straightTrainable, trainable(m));
            // The history after resumption covers the whole run: its first 10 rows come from the file.
            List<TrainingHistory.StepRecord> h = t.history().steps();
            assertEquals(16, h.size());
            for (int i = 0; i < 16; i++) {
                assertEquals(i + 1, h.get(i).step());
                assertEquals(straightHistory.get(i).loss(), h.get(i).loss(), "loss of step " + (i + 1));
            }
        }
    }

    @Test
    void aCheckpointWithStateOfAMissingCallbackIsAClearError() {
        Batches data = TinyBert.task(16, 4); // 2 steps per stage
        Path ckpt = dir.resolve("ckpt2");
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            new Trainer(m, config().checkpoints(ckpt, 3).build()).addCallback(new ToySparse(1)).fit(stages(data), null);
        }
        try (PeftModel m = TinyBert.classifier(9, 0.1f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            UncheckedIOException e = assertThrows(UncheckedIOException.class,
                    () -> new Trainer(m, config().checkpoints(ckpt, 3).build()).fit(stages(data), null));
            String msg = e.getCause().getMessage();
            assertTrue(msg.contains("toy-sparse") && msg.contains("no callback of that name"), msg);
            Map<String, float[]> after = Weights.snapshot(m);
            for (String k : before.keySet()) {
                assertArrayEquals(before.get(k), after.get(k), "a failed resume leaves " + k + " alone");
            }
        }
    }
}

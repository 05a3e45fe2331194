package io.peft4j.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sparse.hft.HalfFineTuning;
import io.peft4j.sparse.hft.HftConfig;
import io.peft4j.sparse.ltsft.LtSftConfig;
import io.peft4j.sparse.ltsft.LtSftTraining;

import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * No array forgotten per step: the arrays alive in the model's manager (and its sub-managers) are as
 * many at the last step as at an earlier step of the same stage (moments differ between stages, as
 * the trainable set does). One array leaked per step would add one per step in between.
 */
class SparseMethodsManagedArraysTest {
    private static final int EXAMPLES = 32;
    private static final int BATCH = 4; // 8 steps per epoch

    private static void assertFlat(TrainerCallback callback, List<Stage> stages, long early, long last) {
        int[] counts = new int[2];
        try (PeftModel model = TinyBert.classifier(4, 0.1f)) {
            TrainingConfig cfg = TrainingConfig.builder().batchSize(BATCH).learningRate(1e-3f).weightDecay(0.01f)
                    .progressBar(false).build();
            new Trainer(model, cfg).addCallback(callback).onStep(s -> {
                if (s == early) {
                    counts[0] = Memory.managedArrays(model.manager());
                } else if (s == last) {
                    counts[1] = Memory.managedArrays(model.manager());
                }
            }).fit(stages, null);
        }
        assertEquals(counts[0], counts[1], "arrays alive after step " + early + " vs step " + last);
    }

    @Test
    void ltSftPhaseTwoLeaksNoArray() {
        Batches data = TinyBert.task(EXAMPLES, 2);
        LtSftConfig config = LtSftConfig.builder().density(0.02).l1Reg(0.01f).build();
        assertFlat(new LtSftTraining(config), LtSftTraining.stages(data, 1, 2), 11, 24);
    }

    @Test
    void hftLeaksNoArray() {
        Batches data = TinyBert.task(EXAMPLES, 2);
        List<Stage> stages = List.of(Stage.builder("a", data).build(), Stage.builder("b", data).epochs(2).build());
        assertFlat(new HalfFineTuning(HftConfig.builder().build()), stages, 11, 24);
    }
}

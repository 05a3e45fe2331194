package io.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

import java.util.List;

class ClassificationMetricsTest {
    @Test
    void figuresFromAConfusionMatrixWorkedByHand() {
        // Rows are gold, columns predicted. Class c has no gold example but is predicted once.
        long[][] m = {
            {3, 1, 0},
            {2, 2, 1},
            {0, 0, 0},
        };
        ClassificationMetrics r = new ClassificationMetrics(0.5, m, List.of("a", "b", "c"));
        assertEquals(5.0 / 9, r.accuracy(), 1e-15);
        assertEquals(3.0 / 5, r.precision(0), 1e-15); // predicted 0: 3 + 2
        assertEquals(3.0 / 4, r.recall(0), 1e-15);
        assertEquals(2 * (3.0 / 5) * (3.0 / 4) / (3.0 / 5 + 3.0 / 4), r.f1(0), 1e-15); // = 2/3
        assertEquals(2.0 / 3, r.precision(1), 1e-15);
        assertEquals(2.0 / 5, r.recall(1), 1e-15);
        assertEquals(0.5, r.f1(1), 1e-15);
        assertEquals(0, r.precision(2)); // predicted once, never right
        assertEquals(0, r.recall(2)); // no gold examples: scikit-learn's zero_division=0
        // Class c occurs among the predictions, so scikit-learn averages over all three: (2/3 + 1/2 + 0) / 3.
        assertEquals((2.0 / 3 + 0.5) / 3, r.macroF1(), 1e-15);
        assertEquals(0.5, r.get(Metrics.LOSS));
        assertEquals("b", r.labelName(1));
        assertArrayEquals(m[1], r.confusionMatrix()[1]);
    }

    @Test
    void aClassNeitherGoldNorPredictedLeavesTheMacroAverage() {
        ClassificationMetrics r = new ClassificationMetrics(0, new long[][] {{2, 0, 0}, {1, 1, 0}, {0, 0, 0}}, null);
        double f0 = 2 * (2.0 / 3) * 1 / (2.0 / 3 + 1);
        double f1 = 2 * 1 * 0.5 / (1 + 0.5);
        assertEquals((f0 + f1) / 2, r.macroF1(), 1e-15);
        assertEquals("2", r.labelName(2));
    }

    @Test
    void refusesRaggedMatricesAndWrongNameCounts() {
        assertThrows(IllegalArgumentException.class, () -> new ClassificationMetrics(0, new long[][] {{1, 0}, {1}}, null));
        assertThrows(IllegalArgumentException.class, () -> new ClassificationMetrics(0, new long[][] {{1, 0}, {0, 1}}, List.of("x")));
    }

    @Test
    void evaluationCountsEveryExampleOnceAcrossBatches() {
        Batches data = TinyBert.task(21, 5);
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            SequenceClassification task = new SequenceClassification();
            // The reference: the logits of all examples in one batch, counted and averaged in double here.
            long[][] want = new long[2][2];
            double loss = 0;
            try (NDManager sm = m.manager().newSubManager()) {
                int[] all = new int[21];
                for (int i = 0; i < all.length; i++) {
                    all[i] = i;
                }
                Batch b = data.batch(sm, all);
                NDArray logits = m.forward(b, false).logits();
                float[] l = logits.toFloatArray();
                long[] gold = b.require(Batch.LABELS).toLongArray();
                for (int i = 0; i < gold.length; i++) {
                    double a = l[2 * i];
                    double c = l[2 * i + 1];
                    double max = Math.max(a, c);
                    double lse = max + Math.log(Math.exp(a - max) + Math.exp(c - max));
                    loss += lse - (gold[i] == 0 ? a : c);
                    want[(int) gold[i]][c > a ? 1 : 0]++;
                }
            }
            ClassificationMetrics got = task.evaluateClassification(m, data, 4);
            for (int g = 0; g < 2; g++) {
                assertArrayEquals(want[g], got.confusionMatrix()[g]);
            }
            assertEquals(loss / 21, got.get(Metrics.LOSS), 1e-5);
        }
    }
}

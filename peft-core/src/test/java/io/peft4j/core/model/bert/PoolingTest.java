package io.peft4j.core.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.select.Selector;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pooling is a visible choice: only POOLER builds the pooler, MEAN and CLS skip its checkpoint weights,
 * and each pooling feeds the classifier what it says. Logits are checked against the classifier applied
 * in double precision in the test to the encoder's hidden states; tolerance 1e-5 because the model
 * computes the 16-element dot products in float32 (relative error ~1e-7 on values of order 1).
 */
class PoolingTest {
    private static final BertCheckpoint CKPT = TinyEncoders.checkpoint(TinyEncoders.config(BertVariant.BERT, 16).build(), 2);
    private static final long[] IDS = {2, 9, 13, 40, 0, 0, 2, 5, 6, 7, 8, 3};
    private static final long[] MASK = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1};

    @Test
    void meanAndClsBuildNoPoolerAndSkipItsWeights() {
        assertTrue(CKPT.hasPooler());
        for (Pooling pooling : new Pooling[] {Pooling.MEAN, Pooling.CLS}) {
            try (PeftModel m = Bert.sequenceClassifier(CKPT, "tiny", 2, pooling)) {
                assertFalse(m.hasModule("bert.pooler"), pooling + " builds no pooler");
                assertFalse(Selector.kind(ModuleKind.LINEAR).modules(m).contains("bert.pooler.dense"),
                        "all-linear cannot reach the pooler");
                assertArrayEquals(CKPT.weights().get("encoder.layer.0.attention.self.query.weight").toFloatArray(),
                        m.parameter("bert.encoder.layer.0.attention.self.query.weight").parameter().getArray().toFloatArray());
            }
        }
        try (PeftModel m = Bert.sequenceClassifier(CKPT, "tiny", 2, Pooling.POOLER)) {
            assertArrayEquals(CKPT.weights().get("pooler.dense.weight").toFloatArray(),
                    m.parameter("bert.pooler.dense.weight").parameter().getArray().toFloatArray());
        }
    }

    @Test
    void poolerPoolingNeedsPoolerWeights() {
        Map<String, Tensor> w = new LinkedHashMap<>(CKPT.weights());
        w.remove("pooler.dense.weight");
        w.remove("pooler.dense.bias");
        BertCheckpoint noPooler = new BertCheckpoint(CKPT.config(), w, "no-pooler");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bert.sequenceClassifier(noPooler, "tiny", 2, Pooling.POOLER));
        assertTrue(e.getMessage().contains("pooler.dense.weight") && e.getMessage().contains("Pooling.MEAN"), e.getMessage());
        try (PeftModel m = Bert.sequenceClassifier(noPooler, "tiny", 2, Pooling.MEAN)) {
            assertFalse(m.hasModule("bert.pooler"));
        }
    }

    @Test
    void eachPoolingFeedsTheClassifierWhatItSays() {
        for (Pooling pooling : Pooling.values()) {
            try (PeftModel m = Bert.sequenceClassifier(CKPT, "tiny", 3, pooling);
                    NDManager io = m.manager().newSubManager()) {
                NDList in = new NDList(io.create(IDS, new Shape(2, 6)), io.create(MASK, new Shape(2, 6)));
                float[] logits = m.forward(in, false).get(0).toFloatArray();
                NDList enc = m.module("bert").forward(new ai.djl.training.ParameterStore(io, false), in, false);
                float[] hidden = enc.get(0).toFloatArray();
                float[] pooled = pooling == Pooling.POOLER ? enc.get(1).toFloatArray() : null;
                Linear head = (Linear) m.module("classifier");
                float[] w = head.weight().toFloatArray();
                float[] b = head.bias().toFloatArray();
                int h = 16;
                for (int i = 0; i < 2; i++) {
                    double[] v = new double[h];
                    if (pooling == Pooling.MEAN) {
                        int n = 0;
                        for (int t = 0; t < 6; t++) {
                            if (MASK[i * 6 + t] == 1) {
                                n++;
                                for (int d = 0; d < h; d++) {
                                    v[d] += hidden[(i * 6 + t) * h + d];
                                }
                            }
                        }
                        for (int d = 0; d < h; d++) {
                            v[d] /= n;
                        }
                    } else {
                        for (int d = 0; d < h; d++) {
                            v[d] = pooling == Pooling.CLS ? hidden[(i * 6) * h + d] : pooled[i * h + d];
                        }
                    }
                    for (int c = 0; c < 3; c++) {
                        double expected = b[c];
                        for (int d = 0; d < h; d++) {
                            expected += (double) w[c * h + d] * v[d];
                        }
                        assertEquals(expected, logits[i * 3 + c], 1e-5, pooling + " row " + i + " class " + c);
                    }
                }
            }
        }
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.data.Batches;

/** Shared helpers: logits of a tiny model on a fixed batch, and max absolute differences. */
final class LoraFixtures {
    static final Batches BATCH = TinyBert.task(6, 3);

    private LoraFixtures() {}

    static float[] logits(PeftModel model, boolean training) {
        try (NDManager m = model.manager().newSubManager()) {
            NDList in = TinyBert.modelInputs(BATCH.batch(m, new int[] {0, 1, 2, 3, 4, 5}));
            return model.forward(in, training).head().toFloatArray();
        }
    }

    static float[] logits(PeftModel model) {
        return logits(model, false);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs((double) a[i] - b[i]));
        }
        return d;
    }
}

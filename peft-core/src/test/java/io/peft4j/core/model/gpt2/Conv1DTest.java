package io.peft4j.core.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.Compute;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.WeightDelta;

import org.junit.jupiter.api.Test;

/**
 * {@link Conv1D} stores {@code [in, out]} but speaks {@code [out, in]} as a linear layer: values chosen by
 * hand (in = 2, out = 3) so every expected number is worked out in the comments.
 */
class Conv1DTest {
    /** W [in=2, out=3] = [[1, 2, 3], [4, 5, 6]], bias [0.5, 0, -1]. */
    private static final float[] W = {1, 2, 3, 4, 5, 6};
    private static final float[] BIAS = {0.5f, 0, -1};

    private static Conv1D layer(NDManager m) {
        Conv1D c = new Conv1D(2, 3);
        c.initializeMissing(m);
        c.setParameterArray("weight", m.create(W, new Shape(2, 3)));
        c.setParameterArray("bias", m.create(BIAS, new Shape(3)));
        return c;
    }

    @Test
    void readAndWriteSpeakOutByIn() {
        try (NDManager m = Compute.newManager()) {
            Conv1D c = layer(m);
            // W^T = [[1, 4], [2, 5], [3, 6]]
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, c.readWeight(m).toFloatArray());
            assertEquals(new Shape(3, 2), c.readWeight(m).getShape());
            c.writeWeight(m.create(new float[] {1, 0, 0, 1, 1, 1}, new Shape(3, 2)));
            // stored as the transpose [[1, 0, 1], [0, 1, 1]]
            assertEquals(new Shape(2, 3), c.weight().getShape());
            assertArrayEquals(new float[] {1, 0, 1, 0, 1, 1}, c.weight().toFloatArray());
        }
    }

    @Test
    void forwardIsXWPlusBiasAndADeltaIsAddedTransposed() {
        try (NDManager m = Compute.newManager()) {
            Conv1D c = layer(m);
            NDList x = new NDList(m.create(new float[] {1, -1}, new Shape(1, 2)));
            // x W + b = [1 - 4, 2 - 5, 3 - 6] + b = [-2.5, -3, -4]
            assertArrayEquals(new float[] {-2.5f, -3, -4}, c.forward(new ParameterStore(m, false), x, false).singletonOrThrow().toFloatArray());
            // D [out=3, in=2] = [[1, 0], [0, 2], [1, 1]]: x D^T = [1, -2, 0], so the output becomes [-1.5, -5, -4].
            WeightDelta d = step -> step.create(new float[] {1, 0, 0, 2, 1, 1}, new Shape(3, 2));
            c.addWeightDelta(d);
            assertArrayEquals(new float[] {-1.5f, -5, -4}, c.forward(new ParameterStore(m, false), x, false).singletonOrThrow().toFloatArray());
        }
    }
}

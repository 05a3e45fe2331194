package io.peft4j.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.Task;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;

import java.util.Map;
import java.util.TreeMap;

/** The loss and the gradient of every trainable parameter of a run's first optimizer step, as the trainer computed them. */
public final class StepGradients {
    public final float loss;
    public final Map<String, float[]> gradients;

    private StepGradients(float loss, Map<String, float[]> gradients) {
        this.loss = loss;
        this.gradients = gradients;
    }

    /** Trains {@code model} for one epoch of {@code data} with {@code config}, keeping step 0's loss and gradients (before clipping). */
    public static StepGradients firstStep(PeftModel model, Task task, Batches data, TrainingConfig config) {
        Map<String, float[]> grads = new TreeMap<>();
        float[] loss = {Float.NaN};
        new Trainer(model, task, config).addCallback(new TrainerCallback() {
            @Override
            public void afterBackward(StepContext step) {
                if (step.step() == 0) {
                    for (Map.Entry<NamedParameter, NDArray> e : step.gradients().entrySet()) {
                        grads.put(e.getKey().name(), e.getValue().toFloatArray());
                    }
                    loss[0] = step.loss();
                }
            }
        }).fit(data, null);
        return new StepGradients(loss[0], grads);
    }

    /** The largest absolute value of a parameter's gradient. */
    public double maxAbs(String name) {
        double m = 0;
        for (float v : gradients.get(name)) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * Asserts {@code other} has the same loss and gradients, each element within {@code 1e-5} of its
     * tensor's largest magnitude: the same float32 operations on the same values, only summed in another
     * order where a parameter takes contributions from several backward passes (e.g. a tied embedding).
     * Also asserts every gradient is non-zero somewhere, so that the comparison means something.
     */
    public void assertSameAs(StepGradients other) {
        assertEquals(gradients.keySet(), other.gradients.keySet(), "trainable parameters");
        assertEquals(loss, other.loss, 1e-6f * Math.max(1f, Math.abs(loss)), "loss");
        for (String name : gradients.keySet()) {
            float[] a = gradients.get(name);
            float[] b = other.gradients.get(name);
            double scale = maxAbs(name);
            assertTrue(scale > 0, "the gradient of " + name + " is zero everywhere: nothing compared");
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5 * scale, name + "[" + i + "]");
            }
        }
    }
}

package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.NamedParameter;

import java.util.Collections;
import java.util.Map;

/**
 * What a {@link TrainerCallback} sees of the run at a hook: the model, where the run is (stage, epoch,
 * step), the learning rate, the optimizer, and once the step's backward is done its loss and the
 * gradients of the parameters it trains. The trainer fills it in as the step proceeds; a callback
 * should not keep it beyond the hook.
 */
public final class StepContext {
    private final PeftModel model;
    private final AdamW optimizer;
    private final Stage stage;
    private final int stageIndex;
    private final int epoch;
    private final long step;
    private final float learningRate;
    private final NDManager manager;
    private float loss = Float.NaN;
    private Map<NamedParameter, NDArray> gradients;
    private double gradNorm = Double.NaN;
    private boolean skipped;

    StepContext(PeftModel model, AdamW optimizer, Stage stage, int stageIndex, int epoch, long step,
            float learningRate, NDManager manager) {
        this.model = model;
        this.optimizer = optimizer;
        this.stage = stage;
        this.stageIndex = stageIndex;
        this.epoch = epoch;
        this.step = step;
        this.learningRate = learningRate;
        this.manager = manager;
    }

    public PeftModel model() { return model; }

    /** The optimizer, e.g. to {@link AdamW#resetState reset} the moments of regrown elements. */
    public AdamW optimizer() { return optimizer; }

    public Stage stage() { return stage; }

    /** 0-based index of the stage in the run. */
    public int stageIndex() { return stageIndex; }

    /** 0-based epoch within the stage. */
    public int epoch() { return epoch; }

    /**
     * 0-based index of the optimizer step over the whole run; at a stage boundary or an epoch end, the
     * number of steps done so far.
     */
    public long step() { return step; }

    /** The learning rate of this step (from the schedule). */
    public float learningRate() { return learningRate; }

    /** The step's manager, closed when the step ends: put the arrays a callback computes here. */
    public NDManager manager() {
        if (manager == null) {
            throw new IllegalStateException("No step manager outside an optimizer step (stage boundary or epoch end)");
        }
        return manager;
    }

    /** Mean loss of the step's examples; NaN before backward. */
    public float loss() { return loss; }

    /**
     * Gradients of the parameters this step trains, after backward (accumulated over micro-batches);
     * changes made in place (masking, scaling) are what clipping and the optimizer see.
     */
    public Map<NamedParameter, NDArray> gradients() {
        if (gradients == null) {
            throw new IllegalStateException("Gradients exist from afterBackward to afterOptimizerStep, not at step "
                    + step + "'s current hook");
        }
        return gradients;
    }

    /** Global L2 norm of the gradients before clipping; NaN before clipping. */
    public double gradNorm() { return gradNorm; }

    /** True when the update was skipped because the gradient norm was NaN or infinite. */
    public boolean skipped() { return skipped; }

    void setLoss(float loss) { this.loss = loss; }

    void setGradients(Map<NamedParameter, NDArray> gradients) {
        this.gradients = gradients == null ? null : Collections.unmodifiableMap(gradients);
    }

    void setGradNorm(double norm, boolean skipped) {
        this.gradNorm = norm;
        this.skipped = skipped;
    }
}

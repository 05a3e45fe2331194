package io.peft4j.core.train;

/**
 * Hooks into a training run, in the style of DJL's {@code TrainingListener}: every method has a no-op
 * default, so a callback overrides only what it needs. Strategies that steer training (sparse
 * drop/regrow, per-stage selections, phases) are callbacks rather than forks of the trainer.
 *
 * <p>Order within one optimizer step: {@link #onStepBegin} (the trainable set may be changed here);
 * forward and backward of every micro-batch; {@link #afterBackward} (gradients visible and modifiable
 * in place, before clipping); clipping and the AdamW update; {@link #afterOptimizerStep} (the trainable
 * set may be changed here too); then a checkpoint when one is due. {@link #onStageBoundary} comes before
 * the first step of every stage, after the stage's start action; {@link #onEpochEnd} after each epoch's
 * evaluation.
 *
 * <p>A callback whose decisions must survive a restart returns them from {@link #state()}; the trainer
 * saves that beside the weights in every checkpoint and hands it back to {@link #restore} on resumption,
 * before the first resumed step.
 */
public interface TrainerCallback {
    /**
     * The name its checkpoint state is saved under; unique among a trainer's callbacks (letters, digits,
     * {@code _.-}). By default the class's simple name, or for an anonymous class its binary name.
     */
    default String name() {
        String simple = getClass().getSimpleName();
        return simple.isEmpty() ? getClass().getName().replaceAll("[^A-Za-z0-9_.\\-]", "_") : simple;
    }

    /** A stage starts (the run's first stage included). */
    default void onStageBoundary(StepContext step) { }

    /** An optimizer step starts; no loss or gradients yet. */
    default void onStepBegin(StepContext step) { }

    /** All micro-batches of the step are back-propagated; {@link StepContext#gradients()} may be changed in place. */
    default void afterBackward(StepContext step) { }

    /** The parameters were updated (or the step was skipped for a non-finite gradient norm). */
    default void afterOptimizerStep(StepContext step) { }

    /** An epoch ended; {@code result} holds its mean loss and the evaluation metrics. */
    default void onEpochEnd(StepContext step, EpochResult result) { }

    /** What to save in a checkpoint; empty (nothing saved) by default. */
    default CheckpointState state() {
        return CheckpointState.empty();
    }

    /** Takes back what {@link #state()} returned when the checkpoint being resumed from was written. */
    default void restore(CheckpointState state) { }
}

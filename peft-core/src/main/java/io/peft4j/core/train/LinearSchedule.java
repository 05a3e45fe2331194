package io.peft4j.core.train;

/**
 * transformers' "linear" schedule: the rate rises from 0 by {@code step / warmup} to the peak, then
 * falls by {@code (total - step) / (total - warmup)} to 0 at the end.
 */
public final class LinearSchedule {
    private final float peak;
    private final long warmupSteps;
    private final long totalSteps;

    public LinearSchedule(float peak, long warmupSteps, long totalSteps) {
        if (totalSteps <= 0 || warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("Need 0 <= warmupSteps (" + warmupSteps + ") <= totalSteps (" + totalSteps + ") and totalSteps > 0");
        }
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    /** The rate for the optimizer step with 0-based index {@code step}. */
    public float rate(long step) {
        if (step < warmupSteps) {
            return peak * step / (float) Math.max(1, warmupSteps);
        }
        long decaySteps = totalSteps - warmupSteps;
        return peak * Math.max(0f, (totalSteps - step) / (float) Math.max(1, decaySteps));
    }
}

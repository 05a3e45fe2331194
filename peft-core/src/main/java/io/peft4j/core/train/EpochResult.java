package io.peft4j.core.train;

import io.peft4j.core.task.Metrics;

import java.util.Locale;

/** What one epoch did: mean training loss, evaluation metrics (null without evaluation data) and speed. */
public final class EpochResult {
    /** The stage name of a run of one stage. */
    public static final String DEFAULT_STAGE = "train";

    private final int epoch;
    private final String stage;
    private final double meanLoss;
    private final Metrics evalMetrics;
    private final double examplesPerSecond;

    public EpochResult(int epoch, double meanLoss, Metrics evalMetrics, double examplesPerSecond) {
        this(epoch, DEFAULT_STAGE, meanLoss, evalMetrics, examplesPerSecond);
    }

    /** @param epoch 1-based over the whole run, all stages together */
    public EpochResult(int epoch, String stage, double meanLoss, Metrics evalMetrics, double examplesPerSecond) {
        this.epoch = epoch;
        this.stage = stage;
        this.meanLoss = meanLoss;
        this.evalMetrics = evalMetrics;
        this.examplesPerSecond = examplesPerSecond;
    }

    public int epoch() { return epoch; }
    /** The name of the {@link Stage} the epoch belongs to. */
    public String stage() { return stage; }
    public double meanLoss() { return meanLoss; }
    /** The task's metrics on the evaluation data after this epoch, or null when there was none. */
    public Metrics evalMetrics() { return evalMetrics; }
    public double examplesPerSecond() { return examplesPerSecond; }

    @Override
    public String toString() {
        String eval = evalMetrics == null ? "no eval data" : "eval " + evalMetrics;
        String prefix = DEFAULT_STAGE.equals(stage) ? "" : stage + ", ";
        return String.format(Locale.ROOT, prefix + "epoch %d: loss %.4f, %s, %.1f examples/s", epoch, meanLoss, eval, examplesPerSecond);
    }
}

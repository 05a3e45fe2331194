package io.peft4j.core.train;

import java.util.Locale;

/** What one epoch did: mean training loss, evaluation accuracy (NaN without evaluation data) and speed. */
public final class EpochResult {
    private final int epoch;
    private final double meanLoss;
    private final double evalAccuracy;
    private final double examplesPerSecond;

    public EpochResult(int epoch, double meanLoss, double evalAccuracy, double examplesPerSecond) {
        this.epoch = epoch;
        this.meanLoss = meanLoss;
        this.evalAccuracy = evalAccuracy;
        this.examplesPerSecond = examplesPerSecond;
    }

    public int epoch() { return epoch; }
    public double meanLoss() { return meanLoss; }
    public double evalAccuracy() { return evalAccuracy; }
    public double examplesPerSecond() { return examplesPerSecond; }

    @Override
    public String toString() {
        String eval = Double.isNaN(evalAccuracy) ? "no eval data"
                : String.format(Locale.ROOT, "eval accuracy %.4f", evalAccuracy);
        return String.format(Locale.ROOT, "epoch %d: loss %.4f, %s, %.1f examples/s", epoch, meanLoss, eval, examplesPerSecond);
    }
}

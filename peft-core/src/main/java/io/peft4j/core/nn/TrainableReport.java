package io.peft4j.core.nn;

import java.util.Locale;

/** Trainable versus total parameter counts, as HF PEFT's {@code print_trainable_parameters} reports them. */
public final class TrainableReport {
    private final long trainable;
    private final long total;

    public TrainableReport(long trainable, long total) {
        this.trainable = trainable;
        this.total = total;
    }

    public long trainable() {
        return trainable;
    }

    public long total() {
        return total;
    }

    public double percent() {
        return total == 0 ? 0 : 100.0 * trainable / total;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable, total, percent());
    }
}

package io.peft4j.core.train;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * One stage of a training run: its own training data, its number of epochs, and an action run on the
 * model when the stage starts (typically a selection: which parameters train in this stage). HFT's
 * per-stage half selection and LT-SFT's two phases are runs of several stages. Immutable.
 *
 * <p>The learning-rate schedule spans the whole run, all stages together, as transformers' does.
 */
public final class Stage {
    private final String name;
    private final Batches train;
    private final int epochs;
    private final Consumer<PeftModel> onStart;

    private Stage(Builder b) {
        this.name = b.name;
        this.train = b.train;
        this.epochs = b.epochs;
        this.onStart = b.onStart;
        // The name is a column of the history CSV: kept to characters that need no quoting.
        if (name == null || !name.matches("[A-Za-z0-9_.\\- ]+") || name.isBlank()) {
            throw new IllegalArgumentException("Invalid stage name '" + name + "': use letters, digits, spaces and _.-");
        }
        Objects.requireNonNull(train, "stage '" + name + "': training data");
        if (epochs <= 0) {
            throw new IllegalArgumentException("Invalid epochs for stage '" + name + "': " + epochs + " (need > 0)");
        }
    }

    /** A stage named {@code name} (used in logs and the training history) training on {@code train}. */
    public static Builder builder(String name, Batches train) {
        return new Builder(name, train);
    }

    public String name() { return name; }
    public Batches train() { return train; }
    public int epochs() { return epochs; }

    /** Runs the stage's start action; the trainer calls it when the stage's first step is about to run. */
    void start(PeftModel model) {
        onStart.accept(model);
    }

    @Override
    public String toString() {
        return "Stage(" + name + ", " + epochs + " epochs, " + train.size() + " examples)";
    }

    public static final class Builder {
        private final String name;
        private final Batches train;
        private int epochs = 1;
        private Consumer<PeftModel> onStart = m -> { };

        private Builder(String name, Batches train) {
            this.name = name;
            this.train = train;
        }

        /** Epochs over this stage's data (default 1). */
        public Builder epochs(int v) { epochs = v; return this; }

        /**
         * What to do to the model when the stage starts, e.g. choose which parameters train. It is not
         * run again when a run resumes from a checkpoint taken inside the stage: the checkpoint restores
         * the trainable set and the callbacks' state as they were.
         */
        public Builder onStart(Consumer<PeftModel> action) { onStart = Objects.requireNonNull(action); return this; }

        public Stage build() {
            return new Stage(this);
        }
    }
}

package io.peft4j.core.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Where each stage's steps and epochs fall in a run: the trainer maps a global step (e.g. the one a
 * checkpoint was written at) to its stage and epoch with it. Immutable.
 */
final class RunPlan {
    /** One stage's place in the run. */
    static final class Part {
        final Stage stage;
        final int index;
        final int microPerEpoch;
        final long stepsPerEpoch;
        final long firstStep;
        /** 0-based index over the run of the stage's first epoch. */
        final int firstEpoch;

        Part(Stage stage, int index, int microPerEpoch, long stepsPerEpoch, long firstStep, int firstEpoch) {
            this.stage = stage;
            this.index = index;
            this.microPerEpoch = microPerEpoch;
            this.stepsPerEpoch = stepsPerEpoch;
            this.firstStep = firstStep;
            this.firstEpoch = firstEpoch;
        }

        long endStep() {
            return firstStep + stepsPerEpoch * stage.epochs();
        }
    }

    private final List<Part> parts;
    private final long totalSteps;

    RunPlan(List<Stage> stages, int batchSize, int accumulation) {
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("A run needs at least one stage");
        }
        List<Part> out = new ArrayList<>();
        long step = 0;
        int epoch = 0;
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            int n = s.train().size();
            if (n == 0) {
                throw new IllegalArgumentException("The training data of stage '" + s.name() + "' is empty");
            }
            int micro = (n + batchSize - 1) / batchSize;
            long perEpoch = (micro + accumulation - 1) / accumulation;
            Part p = new Part(s, i, micro, perEpoch, step, epoch);
            out.add(p);
            step = p.endStep();
            epoch += s.epochs();
        }
        this.parts = Collections.unmodifiableList(out);
        this.totalSteps = step;
    }

    List<Part> parts() {
        return parts;
    }

    long totalSteps() {
        return totalSteps;
    }
}

package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import ai.djl.training.util.ProgressBar;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.MixedPrecision;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.task.Task;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Trains a model's trainable parameters on a {@link Task}'s loss: AdamW, linear warm-up and decay,
 * global-norm clipping, gradient accumulation, evaluation after each epoch, checkpoints and
 * resumption, a training history, and {@link TrainerCallback callbacks} through which strategies steer
 * the run. A run is one or more {@link Stage stages}.
 *
 * <p>The trainable set is read again at every optimizer step, after {@link TrainerCallback#onStepBegin}:
 * a stage's start action or a callback may freeze or unfreeze parameters between steps, and AdamW
 * follows (new moments for new parameters, none kept for frozen ones). A step whose gradient norm is
 * NaN or infinite is skipped; its gradients are cleared so the next step starts clean.
 *
 * <p>Runs are reproducible for a seed: the data order of the run's epoch {@code e} is a shuffle seeded
 * by {@code (seed, e)} and libtorch's generator is reseeded from {@code (seed, step)} before each
 * optimizer step, so a run resumed from a checkpoint takes the same steps as one that never stopped.
 * The model's own initialization is not covered: build it after {@code Compute.seed} (see
 * {@link TrainingConfig}).
 *
 * <p>Every array a step creates lives in a sub-manager closed at the end of that step.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private static final java.util.regex.Pattern CALLBACK_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9_.\\-]+");

    private final PeftModel model;
    private final Task task;
    private final TrainingConfig config;
    private final List<TrainerCallback> callbacks = new ArrayList<>();
    private LongConsumer stepListener = s -> { };
    private TrainingHistory history = new TrainingHistory();

    /** A trainer for sequence classification, the task of {@link io.peft4j.core.model.bert.BertForSequenceClassification}. */
    public Trainer(PeftModel model, TrainingConfig config) {
        this(model, new SequenceClassification(), config);
    }

    public Trainer(PeftModel model, Task task, TrainingConfig config) {
        this.model = model;
        this.task = task;
        this.config = config;
    }

    /** Adds a callback; callbacks run in the order added. Their names must differ (checkpoint state is saved by name). */
    public Trainer addCallback(TrainerCallback callback) {
        String name = callback.name();
        if (name == null || !CALLBACK_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("Callback name '" + name + "' must be letters, digits and _.- (it names checkpoint files)");
        }
        for (TrainerCallback c : callbacks) {
            if (c.name().equals(name)) {
                throw new IllegalArgumentException("A callback named '" + name + "' is already added; override name() to tell them apart");
            }
        }
        callbacks.add(callback);
        return this;
    }

    /** Called after every optimizer step (and its checkpoint) with the number of steps done; for monitoring and tests. */
    public Trainer onStep(LongConsumer listener) {
        this.stepListener = listener;
        return this;
    }

    /** The history of the last {@code fit}: a row per optimizer step and per epoch. */
    public TrainingHistory history() {
        return history;
    }

    /**
     * Trains for the configured epochs on {@code train}, evaluating on {@code eval} (may be null) after
     * each. If the checkpoint directory holds a checkpoint, training resumes from it.
     */
    public List<EpochResult> fit(Batches train, Batches eval) {
        return fit(List.of(Stage.builder(EpochResult.DEFAULT_STAGE, train).epochs(config.epochs()).build()), eval);
    }

    /**
     * Trains through {@code stages} in order (each with its own data, epochs and start action; the
     * config's {@code epochs} is not used), evaluating on {@code eval} (may be null) after every epoch.
     * The learning-rate schedule spans all stages. If the checkpoint directory holds a checkpoint,
     * training resumes from it.
     */
    public List<EpochResult> fit(List<Stage> stages, Batches eval) {
        RunPlan plan = new RunPlan(stages, config.batchSize(), config.gradientAccumulationSteps());
        long totalSteps = plan.totalSteps();
        LinearSchedule schedule = new LinearSchedule(config.learningRate(),
                Math.round(config.warmupRatio() * totalSteps), totalSteps);
        List<EpochResult> results = new ArrayList<>();
        Compute.seed(config.seed());
        try (AdamW optimizer = new AdamW(model.manager(), config.beta1(), config.beta2(), config.adamEpsilon(),
                config.weightDecay())) {
            Set<String> touched = new LinkedHashSet<>();
            long step = resume(optimizer, touched);
            if (step > 0) {
                storeFrozenWeights(); // the stage started before the checkpoint; its weights are reloaded
            }
            for (RunPlan.Part part : plan.parts()) {
                if (step >= part.endStep()) {
                    continue;
                }
                if (step == part.firstStep) {
                    // Seeded from the step, so a run resumed at this boundary draws what the straight run drew.
                    Compute.seed(~(config.seed() * 1_000_003L + step));
                    part.stage.start(model);
                    storeFrozenWeights();
                    StepContext ctx = new StepContext(model, optimizer, part.stage, part.index, 0, step,
                            schedule.rate(step), null);
                    callbacks.forEach(c -> c.onStageBoundary(ctx));
                    if (plan.parts().size() > 1) {
                        LOG.info("Stage {} of {}: {}", part.index + 1, plan.parts().size(), part.stage);
                    }
                }
                for (int e = (int) ((step - part.firstStep) / part.stepsPerEpoch); e < part.stage.epochs(); e++) {
                    step = runEpoch(plan, part, e, step, schedule, optimizer, touched, eval, results);
                }
            }
            if (config.checkpointDir() != null) {
                saveCheckpoint(optimizer, step, touched);
            }
            writeHistory();
        } catch (IOException e) {
            throw new UncheckedIOException("Checkpoint or history I/O failed (checkpoints " + config.checkpointDir()
                    + ", output " + config.outputDir() + ")", e);
        }
        return results;
    }

    /** One epoch of a stage from {@code step} on; returns the step count after it. */
    private long runEpoch(RunPlan plan, RunPlan.Part part, int epoch, long step, LinearSchedule schedule,
            AdamW optimizer, Set<String> touched, Batches eval, List<EpochResult> results) throws IOException {
        Stage stage = part.stage;
        int n = stage.train().size();
        int runEpoch = part.firstEpoch + epoch;
        int[] order = shuffled(n, runEpoch);
        String label = plan.parts().size() > 1
                ? String.format(Locale.ROOT, "%s, epoch %d/%d", stage.name(), epoch + 1, stage.epochs())
                : String.format(Locale.ROOT, "Epoch %d/%d", epoch + 1, stage.epochs());
        ProgressBar bar = config.progressBar() ? new ProgressBar(label, part.stepsPerEpoch) : null;
        double lossSum = 0;
        long lossCount = 0;
        long examples = 0;
        long started = System.nanoTime();
        int accum = config.gradientAccumulationSteps();
        for (long s = (step - part.firstStep) % part.stepsPerEpoch; s < part.stepsPerEpoch; s++) {
            List<int[]> micro = new ArrayList<>();
            for (int b = (int) (s * accum); b < Math.min(part.microPerEpoch, (s + 1) * accum); b++) {
                int from = b * config.batchSize();
                int[] idx = new int[Math.min(n, from + config.batchSize()) - from];
                System.arraycopy(order, from, idx, 0, idx.length);
                micro.add(idx);
            }
            long stepStarted = System.nanoTime();
            float lr = schedule.rate(step);
            StepContext ctx = optimizerStep(part, epoch, step, lr, stage.train(), micro, optimizer, touched);
            int stepExamples = micro.stream().mapToInt(a -> a.length).sum();
            double stepSecs = Math.max((System.nanoTime() - stepStarted) / 1e9, 1e-9);
            lossSum += (double) ctx.loss() * stepExamples;
            lossCount += stepExamples;
            examples += stepExamples;
            step++;
            history.add(new TrainingHistory.StepRecord(step, stage.name(), epoch + 1, ctx.loss(), lr, ctx.gradNorm(),
                    stepExamples / stepSecs));
            if (bar != null) {
                double secs = (System.nanoTime() - started) / 1e9;
                bar.update(s + 1, String.format(Locale.ROOT, "loss %.4f, %.1f examples/s", ctx.loss(), examples / secs));
            }
            if (config.checkpointDir() != null && config.checkpointEverySteps() > 0
                    && step % config.checkpointEverySteps() == 0) {
                saveCheckpoint(optimizer, step, touched);
                writeHistory(); // so that a run resumed from this checkpoint finds its history up to here
            }
            stepListener.accept(step);
        }
        if (bar != null) {
            bar.end();
        }
        double secs = (System.nanoTime() - started) / 1e9;
        Metrics metrics = eval == null ? null : evaluate(eval);
        EpochResult r = new EpochResult(runEpoch + 1, stage.name(), lossCount == 0 ? Double.NaN : lossSum / lossCount,
                metrics, examples / Math.max(secs, 1e-9));
        LOG.info("{}", r);
        results.add(r);
        history.add(new TrainingHistory.EpochRecord(runEpoch + 1, stage.name(), step, r.meanLoss(), metrics));
        StepContext end = new StepContext(model, optimizer, stage, part.index, epoch, step, schedule.rate(step), null);
        for (TrainerCallback c : callbacks) {
            c.onEpochEnd(end, r);
        }
        writeHistory();
        return step;
    }

    /**
     * One optimizer step over the micro-batches {@code micro}: the callbacks' hooks, forward and backward
     * of each micro-batch, clipping, the AdamW update, gradient zeroing. Returns the step's context.
     */
    private StepContext optimizerStep(RunPlan.Part part, int epoch, long step, float lr, Batches train,
            List<int[]> micro, AdamW optimizer, Set<String> touched) {
        Compute.seed(config.seed() * 1_000_003L + step);
        int groupSize = micro.stream().mapToInt(a -> a.length).sum();
        double lossSum = 0;
        try (NDManager sm = model.manager().newSubManager()) {
            StepContext ctx = new StepContext(model, optimizer, part.stage, part.index, epoch, step, lr, sm);
            callbacks.forEach(c -> c.onStepBegin(ctx));
            storeFrozenWeights();
            List<NamedParameter> params = model.trainableParameters();
            if (params.isEmpty()) {
                throw new IllegalStateException("No trainable parameters at optimizer step " + step + " (stage '"
                        + part.stage.name() + "'): apply a strategy before training");
            }
            for (int[] idx : micro) {
                Batch batch = train.batch(sm, idx);
                try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                    NDArray loss = task.loss(model, batch, true);
                    float value = loss.getFloat();
                    if (!Float.isFinite(value)) {
                        throw new TrainingDivergedException(step, value);
                    }
                    lossSum += value * idx.length;
                    // Weighted so the accumulated gradient is that of the mean over the whole group.
                    gc.backward(loss.mul(Module.scalar(loss, (float) idx.length / groupSize)));
                }
            }
            Map<NamedParameter, NDArray> grads = new LinkedHashMap<>();
            for (NamedParameter p : params) {
                NDArray g = p.parameter().getArray().getGradient();
                g.attach(sm);
                grads.put(p, g);
            }
            ctx.setLoss((float) (lossSum / groupSize));
            ctx.setGradients(grads);
            callbacks.forEach(c -> c.afterBackward(ctx));
            double norm = GradientClipping.clip(grads.values(), config.maxGradNorm());
            boolean skip = !Double.isFinite(norm);
            if (skip) {
                LOG.warn("Gradient norm is {} at optimizer step {}: the update is skipped", norm, step);
            } else {
                optimizer.step(grads, lr, sm);
                grads.keySet().forEach(p -> touched.add(p.name()));
            }
            ctx.setGradNorm(norm, skip);
            callbacks.forEach(c -> c.afterOptimizerStep(ctx));
            GradientClipping.zero(grads.values());
            ctx.setGradients(null);
            return ctx;
        }
    }

    /** The task's metrics on {@code data}, in inference mode (no dropout, no gradients). */
    public Metrics evaluate(Batches data) {
        return task.evaluate(model, data, config.batchSize());
    }

    /**
     * Holds frozen Linear/Embedding weights in the configured dtype while training (float16 halves the
     * memory of a frozen base; the layers widen them per step). Run at each stage start, after a resume
     * and after every {@code onStepBegin}, because callbacks may change the trainable set: a weight
     * that becomes trainable goes back to float32 before the optimizer sees it.
     */
    private void storeFrozenWeights() {
        // A model loaded with float16 frozen weights (DecoderLoadOptions) keeps them so: one choice, not two.
        if (config.frozenWeightsDType() == DataType.FLOAT16 || MixedPrecision.holdsFloat16(model)) {
            MixedPrecision.apply(model);
        }
    }

    private int[] shuffled(int n, int epoch) {
        List<Integer> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(i);
        }
        Collections.shuffle(list, new Random(config.seed() * 31L + epoch));
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Saves what the run has trained so far (every parameter ever trained, and those training now). */
    private void saveCheckpoint(AdamW optimizer, long step, Set<String> touched) throws IOException {
        Set<String> names = new HashSet<>(touched);
        model.trainableParameters().forEach(p -> names.add(p.name()));
        Checkpoints.save(config.checkpointDir(), model, names, optimizer, step, callbacks);
    }

    /** Restores the newest checkpoint, if any, and the history up to it; returns the step to continue from. */
    private long resume(AdamW optimizer, Set<String> touched) throws IOException {
        history = new TrainingHistory();
        if (config.checkpointDir() == null) {
            return 0;
        }
        Checkpoints.Restored r = Checkpoints.restoreLatest(config.checkpointDir(), model, optimizer, callbacks);
        if (r == null) {
            return 0;
        }
        touched.addAll(r.weights);
        LOG.info("Resuming from optimizer step {}", r.step);
        if (config.outputDir() != null) {
            history = TrainingHistory.readUpTo(config.outputDir(), r.step);
        }
        return r.step;
    }

    /** Writes the history into the output directory, if one is set; a chart that fails to draw only warns. */
    private void writeHistory() throws IOException {
        if (config.outputDir() == null) {
            return;
        }
        history.writeCsv(config.outputDir());
        try {
            LossChart.write(history, config.outputDir().resolve(TrainingHistory.LOSS_PNG));
        } catch (IOException | RuntimeException | LinkageError e) {
            // The CSV holds the same numbers; a missing font or AWT library must not end a long run.
            LOG.warn("Could not draw {}: {}", TrainingHistory.LOSS_PNG, e.toString());
        }
    }
}

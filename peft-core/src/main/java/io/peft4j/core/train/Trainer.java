package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.util.ProgressBar;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.task.Task;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Trains a model's trainable parameters on a {@link Task}'s loss: AdamW, linear
 * warm-up and decay, global-norm clipping, gradient accumulation, evaluation after each epoch,
 * checkpoints and resumption.
 *
 * <p>Runs are reproducible for a seed: the data order of epoch {@code e} is a shuffle seeded by
 * {@code (seed, e)} and libtorch's generator is reseeded from {@code (seed, step)} before each
 * optimizer step, so a run resumed from a checkpoint takes the same steps as one that never stopped.
 *
 * <p>Every array a step creates lives in a sub-manager closed at the end of that step.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final PeftModel model;
    private final Task task;
    private final TrainingConfig config;
    private LongConsumer stepListener = s -> { };

    /** A trainer for sequence classification, the task of {@link io.peft4j.core.model.bert.BertForSequenceClassification}. */
    public Trainer(PeftModel model, TrainingConfig config) {
        this(model, new SequenceClassification(), config);
    }

    public Trainer(PeftModel model, Task task, TrainingConfig config) {
        this.model = model;
        this.task = task;
        this.config = config;
    }

    /** Called after every optimizer step with the number of steps done; for monitoring and tests. */
    public Trainer onStep(LongConsumer listener) {
        this.stepListener = listener;
        return this;
    }

    /**
     * Trains for the configured epochs, evaluating on {@code eval} (may be null) after each. If the
     * checkpoint directory holds a checkpoint, training resumes from it.
     */
    public List<EpochResult> fit(Batches train, Batches eval) {
        List<NamedParameter> params = model.trainableParameters();
        if (params.isEmpty()) {
            throw new IllegalStateException("No trainable parameters: apply a strategy before training");
        }
        int n = train.size();
        if (n == 0) {
            throw new IllegalArgumentException("The training data is empty");
        }
        int microPerEpoch = (n + config.batchSize() - 1) / config.batchSize();
        int accum = config.gradientAccumulationSteps();
        long stepsPerEpoch = (microPerEpoch + accum - 1) / accum;
        long totalSteps = stepsPerEpoch * config.epochs();
        long warmup = Math.round(config.warmupRatio() * totalSteps);
        LinearSchedule schedule = new LinearSchedule(config.learningRate(), warmup, totalSteps);

        List<EpochResult> results = new ArrayList<>();
        try (AdamW optimizer = new AdamW(model.manager(), config.beta1(), config.beta2(), config.adamEpsilon(),
                config.weightDecay(), noDecay(params))) {
            long step = resume(params, optimizer);
            if (step > 0) {
                LOG.info("Resuming from optimizer step {} of {}", step, totalSteps);
            }
            for (int epoch = (int) (step / stepsPerEpoch); epoch < config.epochs(); epoch++) {
                int[] order = shuffled(n, epoch);
                ProgressBar bar = config.progressBar()
                        ? new ProgressBar(String.format(Locale.ROOT, "Epoch %d/%d", epoch + 1, config.epochs()), stepsPerEpoch)
                        : null;
                double lossSum = 0;
                long lossCount = 0;
                long examples = 0;
                long started = System.nanoTime();
                for (long s = step % stepsPerEpoch; s < stepsPerEpoch; s++) {
                    int firstMicro = (int) (s * accum);
                    int lastMicro = Math.min(microPerEpoch, firstMicro + accum);
                    List<int[]> micro = new ArrayList<>();
                    for (int b = firstMicro; b < lastMicro; b++) {
                        int from = b * config.batchSize();
                        int to = Math.min(n, from + config.batchSize());
                        int[] idx = new int[to - from];
                        System.arraycopy(order, from, idx, 0, idx.length);
                        micro.add(idx);
                    }
                    float loss = optimizerStep(train, micro, params, optimizer, schedule.rate(step), step);
                    int stepExamples = micro.stream().mapToInt(a -> a.length).sum();
                    lossSum += loss * stepExamples;
                    lossCount += stepExamples;
                    examples += stepExamples;
                    step++;
                    if (bar != null) {
                        double secs = (System.nanoTime() - started) / 1e9;
                        bar.update(s + 1, String.format(Locale.ROOT, "loss %.4f, %.1f examples/s", loss, examples / secs));
                    }
                    if (config.checkpointDir() != null && config.checkpointEverySteps() > 0
                            && step % config.checkpointEverySteps() == 0) {
                        Checkpoints.save(config.checkpointDir(), model, params, optimizer, step);
                    }
                    stepListener.accept(step);
                }
                if (bar != null) {
                    bar.end();
                }
                double secs = (System.nanoTime() - started) / 1e9;
                Metrics metrics = eval == null ? null : evaluate(eval);
                EpochResult r = new EpochResult(epoch + 1, lossCount == 0 ? Double.NaN : lossSum / lossCount, metrics,
                        examples / Math.max(secs, 1e-9));
                LOG.info("{}", r);
                results.add(r);
            }
            if (config.checkpointDir() != null) {
                Checkpoints.save(config.checkpointDir(), model, params, optimizer, step);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Checkpoint I/O failed in " + config.checkpointDir(), e);
        }
        return results;
    }

    private float optimizerStep(Batches train, List<int[]> micro, List<NamedParameter> params, AdamW optimizer,
            float lr, long step) {
        Compute.seed(config.seed() * 1_000_003L + step);
        int groupSize = micro.stream().mapToInt(a -> a.length).sum();
        double lossSum = 0;
        try (NDManager sm = model.manager().newSubManager()) {
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
            clip(grads.values());
            optimizer.step(grads, lr, sm);
            for (NDArray g : grads.values()) {
                g.subi(g);
            }
        }
        return (float) (lossSum / groupSize);
    }

    /** Scales all gradients together so their global L2 norm is at most {@code maxGradNorm}. */
    private void clip(Iterable<NDArray> grads) {
        if (config.maxGradNorm() <= 0) {
            return;
        }
        double sq = 0;
        for (NDArray g : grads) {
            sq += g.square().sum().getFloat();
        }
        double norm = Math.sqrt(sq);
        if (norm > config.maxGradNorm()) {
            float scale = (float) (config.maxGradNorm() / (norm + 1e-6));
            for (NDArray g : grads) {
                g.muli(scale);
            }
        }
    }

    /** The task's metrics on {@code data}, in inference mode (no dropout, no gradients). */
    public Metrics evaluate(Batches data) {
        return task.evaluate(model, data, config.batchSize());
    }

    private int[] shuffled(int n, int epoch) {
        List<Integer> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(i);
        }
        java.util.Collections.shuffle(list, new Random(config.seed() * 31L + epoch));
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    /** transformers exempts biases and LayerNorm weights from weight decay; so do we. */
    private static Set<String> noDecay(List<NamedParameter> params) {
        Set<String> out = new HashSet<>();
        for (NamedParameter p : params) {
            if (p.localName().equals("bias") || p.module().kind() == ModuleKind.LAYER_NORM) {
                out.add(p.name());
            }
        }
        return out;
    }

    private long resume(List<NamedParameter> params, AdamW optimizer) throws IOException {
        if (config.checkpointDir() == null) {
            return 0;
        }
        return Checkpoints.restoreLatest(config.checkpointDir(), model, params, optimizer);
    }
}

package io.peft4j.core.train;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.task.Metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What a run did, step by step (loss, learning rate, gradient norm, speed) and epoch by epoch
 * (training loss and evaluation metrics), as transformers' {@code log_history}. Written as
 * {@code history.csv} (one row per optimizer step), {@code epochs.csv} (one row per epoch) and the
 * loss curve {@code loss.png} into the run's output directory.
 */
public final class TrainingHistory {
    public static final String STEPS_CSV = "history.csv";
    public static final String EPOCHS_CSV = "epochs.csv";
    public static final String LOSS_PNG = "loss.png";
    static final String STEP_HEADER = "step,stage,epoch,loss,learning_rate,grad_norm,examples_per_second";

    /**
     * One optimizer step: {@code step} counts steps done including this one (1-based, as transformers
     * logs it), {@code epoch} is 1-based within the stage; the loss is the mean over the step's examples
     * and the gradient norm the global norm before clipping.
     */
    public record StepRecord(long step, String stage, int epoch, double loss, double learningRate, double gradNorm,
            double examplesPerSecond) { }

    /** One epoch: 1-based over the run, ending after {@code step} optimizer steps; eval is null without eval data. */
    public record EpochRecord(int epoch, String stage, long step, double trainLoss, Metrics eval) { }

    private final List<StepRecord> steps = new ArrayList<>();
    private final List<EpochRecord> epochs = new ArrayList<>();

    public List<StepRecord> steps() {
        return Collections.unmodifiableList(steps);
    }

    public List<EpochRecord> epochs() {
        return Collections.unmodifiableList(epochs);
    }

    void add(StepRecord r) {
        steps.add(r);
    }

    void add(EpochRecord r) {
        epochs.add(r);
    }

    /** Writes the two CSV files into {@code dir}, each atomically (the chart is {@link LossChart}'s). */
    void writeCsv(Path dir) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve(STEPS_CSV), stepsCsv());
        AtomicFiles.writeString(dir.resolve(EPOCHS_CSV), epochsCsv());
    }

    String stepsCsv() {
        StringBuilder s = new StringBuilder(STEP_HEADER).append('\n');
        for (StepRecord r : steps) {
            s.append(r.step()).append(',').append(r.stage()).append(',').append(r.epoch()).append(',')
                    .append(num(r.loss())).append(',').append(num(r.learningRate())).append(',')
                    .append(num(r.gradNorm())).append(',').append(num(r.examplesPerSecond())).append('\n');
        }
        return s.toString();
    }

    String epochsCsv() {
        Set<String> metricNames = new LinkedHashSet<>();
        for (EpochRecord r : epochs) {
            if (r.eval() != null) {
                metricNames.addAll(r.eval().asMap().keySet());
            }
        }
        StringBuilder s = new StringBuilder("epoch,stage,step,train_loss");
        metricNames.forEach(m -> s.append(",eval_").append(m));
        s.append('\n');
        for (EpochRecord r : epochs) {
            s.append(r.epoch()).append(',').append(r.stage()).append(',').append(r.step()).append(',')
                    .append(num(r.trainLoss()));
            for (String m : metricNames) {
                s.append(',').append(r.eval() != null && r.eval().has(m) ? num(r.eval().get(m)) : "");
            }
            s.append('\n');
        }
        return s.toString();
    }

    /** Shortest text that reads back to the same double (Java's own), so the CSV holds the exact values. */
    private static String num(double v) {
        return Double.toString(v);
    }

    /**
     * The history a resumed run continues: the rows of {@code dir}'s files for the steps up to
     * {@code step}, so that the files after resumption cover the whole run. Missing files give an empty
     * history; a malformed one is an error naming the file and line.
     */
    static TrainingHistory readUpTo(Path dir, long step) throws IOException {
        TrainingHistory h = new TrainingHistory();
        Path stepsFile = dir.resolve(STEPS_CSV);
        if (Files.isRegularFile(stepsFile)) {
            List<String> lines = Files.readAllLines(stepsFile, StandardCharsets.UTF_8);
            for (int i = 1; i < lines.size(); i++) {
                String[] f = fields(stepsFile, lines, i, 7);
                try {
                    StepRecord r = new StepRecord(Long.parseLong(f[0]), f[1], Integer.parseInt(f[2]),
                            Double.parseDouble(f[3]), Double.parseDouble(f[4]), Double.parseDouble(f[5]),
                            Double.parseDouble(f[6]));
                    if (r.step() <= step) {
                        h.add(r);
                    }
                } catch (NumberFormatException e) {
                    throw new IOException(stepsFile + " line " + (i + 1) + ": not a number (" + e.getMessage() + ")", e);
                }
            }
        }
        Path epochsFile = dir.resolve(EPOCHS_CSV);
        if (Files.isRegularFile(epochsFile)) {
            List<String> lines = Files.readAllLines(epochsFile, StandardCharsets.UTF_8);
            String[] header = lines.isEmpty() ? new String[0] : lines.get(0).split(",", -1);
            for (int i = 1; i < lines.size(); i++) {
                String[] f = fields(epochsFile, lines, i, header.length);
                try {
                    Map<String, Double> metrics = new LinkedHashMap<>();
                    for (int c = 4; c < header.length; c++) {
                        if (!f[c].isEmpty()) {
                            metrics.put(header[c].substring("eval_".length()), Double.parseDouble(f[c]));
                        }
                    }
                    EpochRecord r = new EpochRecord(Integer.parseInt(f[0]), f[1], Long.parseLong(f[2]),
                            Double.parseDouble(f[3]), metrics.isEmpty() ? null : new Metrics(metrics));
                    if (r.step() <= step) {
                        h.add(r);
                    }
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    throw new IOException(epochsFile + " line " + (i + 1) + ": malformed (" + e.getMessage() + ")", e);
                }
            }
        }
        return h;
    }

    private static String[] fields(Path file, List<String> lines, int i, int expected) throws IOException {
        String[] f = lines.get(i).split(",", -1);
        if (f.length != expected) {
            throw new IOException(String.format(Locale.ROOT, "%s line %d: %d fields, expected %d", file, i + 1,
                    f.length, expected));
        }
        return f;
    }
}

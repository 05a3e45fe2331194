package io.peft4j.examples;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fine-tunes the real all-MiniLM-L6-v2 on the shipped topic dataset three ways and prints test
 * accuracy, trainable parameters and time for each: the untrained model (random head), "freeze"
 * (classifier plus the last two layers) and full fine-tuning. The freeze adapter is saved, loaded
 * onto a fresh base through the strategy SPI, and evaluated again.
 */
public final class ClassificationExample {
    private static final int MAX_TOKENS = 64;
    private static final long SEED = 42;

    private ClassificationExample() {}

    private static final class Row {
        final String method;
        final String trainable;
        final double accuracy;
        final double seconds;

        Row(String method, String trainable, double accuracy, double seconds) {
            this.method = method;
            this.trainable = trainable;
            this.accuracy = accuracy;
            this.seconds = seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        List<Row> rows = new ArrayList<>();
        try (TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            System.out.println("Base model: " + pretrained.hubName() + " " + checkpoint.config());

            // Before training: the pretrained encoder with a freshly initialized head.
            io.peft4j.core.Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                double acc = new Trainer(model, TrainingConfig.builder().batchSize(32).build()).evaluate(data.test()).get(Metrics.ACCURACY);
                rows.add(new Row("before training (random head)", "0", acc, 0));
            }

            // Freeze: train the classifier and the last two encoder layers.
            try (OutputDir out = OutputDir.of(args, "peft4j-freeze-adapter")) {
                Path adapterDir = out.path();
                io.peft4j.core.Compute.seed(SEED);
                try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                    FreezeConfig freeze = FreezeConfig.builder()
                            .modulesToTrain("classifier")
                            .lastLayers(2, checkpoint.config().numHiddenLayers())
                            .build();
                    PeftAdapter<FreezeConfig> adapter = Peft.wrap(model, freeze);
                    System.out.println("\nFreeze: the classifier and the last 2 of " + checkpoint.config().numHiddenLayers()
                            + " layers\n  " + model.trainableReport());
                    TrainingConfig cfg = TrainingConfig.builder().epochs(4).batchSize(16).learningRate(5e-4f).warmupRatio(0.1f)
                            .weightDecay(0.01f).seed(SEED).build();
                    rows.add(train("freeze (classifier + last 2 layers)", model, cfg, data));
                    adapter.save(adapterDir);
                }
                io.peft4j.core.Compute.seed(SEED);
                try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                    Peft.load(model, adapterDir);
                    double acc = new Trainer(model, TrainingConfig.builder().batchSize(32).build()).evaluate(data.test()).get(Metrics.ACCURACY);
                    System.out.printf(Locale.ROOT, "Freeze adapter saved to %s and reloaded onto a fresh base: test accuracy %.4f%n",
                            out.describe(), acc);
                }
            }

            // Full fine-tuning: the baseline.
            io.peft4j.core.Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                Peft.wrap(model, new FullFineTuningConfig());
                System.out.println("\nFull fine-tuning\n  " + model.trainableReport());
                TrainingConfig cfg = TrainingConfig.builder().epochs(4).batchSize(16).learningRate(1e-4f).warmupRatio(0.1f)
                        .weightDecay(0.01f).seed(SEED).build();
                rows.add(train("full fine-tuning", model, cfg, data));
            }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-36s %14s %14s %10s%n", "method", "trainable", "test accuracy", "time (s)");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-36s %14s %14.4f %10.1f%n", r.method, r.trainable, r.accuracy, r.seconds);
        }
        System.out.printf(Locale.ROOT, "(chance: %.4f)%n", 1.0 / 4);
    }

    private static Row train(String name, PeftModel model, TrainingConfig cfg, TopicsDataset data) {
        long t0 = System.nanoTime();
        Trainer trainer = new Trainer(model, cfg);
        trainer.fit(data.train(), data.test());
        double secs = (System.nanoTime() - t0) / 1e9;
        double acc = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
        return new Row(name, String.format(Locale.ROOT, "%,d", model.trainableReport().trainable()), acc, secs);
    }
}

package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.TextClassificationData;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.core.task.Evaluator;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sparse.hft.HalfFineTuning;
import io.peft4j.sparse.hft.HftConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Half Fine-Tuning against full fine-tuning on a two-task sequence made from the shipped topic data:
 * task A is the sports and technology sentences, task B the food and weather ones (one 4-way head;
 * each task's examples carry only its two labels). Each method trains on A, then on B (one stage
 * each; HFT draws a new half at the boundary), and the table shows accuracy on A's test sentences
 * right after A and again after B (the drop is the forgetting), accuracy on B, trainable parameters
 * per stage and the mean step time. Arguments: [epochs per task (default 3)] [learning rate (default 2e-4)].
 */
public final class HftExample {
    private static final int MAX_TOKENS = 64;
    private static final long SEED = 42;
    /** Epochs per task unless the first argument gives another number. */
    private static final int EPOCHS = 3;

    private HftExample() {}

    /** The examples of {@code data} whose label is one of {@code labels} (indices into the 4 topic labels). */
    static TextClassificationData subset(TextClassificationData data, Set<Integer> labels, TextTokenizer tokenizer) {
        List<String> texts = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            if (labels.contains(data.label(i))) {
                texts.add(data.texts().get(i));
                ys.add(data.label(i));
            }
        }
        return new TextClassificationData(texts, ys.stream().mapToInt(Integer::intValue).toArray(), data.labelNames(), tokenizer);
    }

    /** Accuracy on task A's test set at every stage boundary, i.e. right after task A. */
    private static final class AfterFirstTask implements TrainerCallback {
        private final TextClassificationData testA;
        double accuracy = Double.NaN;
        long trainable;

        AfterFirstTask(TextClassificationData testA) {
            this.testA = testA;
        }

        @Override
        public String name() {
            return "after-first-task";
        }

        @Override
        public void onStageBoundary(StepContext s) {
            if (s.stageIndex() == 1) {
                accuracy = Evaluator.evaluate(s.model(), new SequenceClassification(), testA, 32).get(Metrics.ACCURACY);
            }
            trainable = s.model().trainableReport().trainable();
        }
    }

    public static void main(String[] args) throws Exception {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : EPOCHS;
        float learningRate = args.length > 1 ? Float.parseFloat(args[1]) : 2e-4f;
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        List<String> table = new ArrayList<>();
        try (TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            TopicsDataset data = TopicsDataset.load(tokenizer);
            List<String> labels = data.labels();
            Set<Integer> a = Set.of(labels.indexOf("sports"), labels.indexOf("technology"));
            Set<Integer> b = Set.of(labels.indexOf("food"), labels.indexOf("weather"));
            TextClassificationData trainA = subset(data.train(), a, tokenizer);
            TextClassificationData trainB = subset(data.train(), b, tokenizer);
            TextClassificationData testA = subset(data.test(), a, tokenizer);
            TextClassificationData testB = subset(data.test(), b, tokenizer);
            System.out.printf(Locale.ROOT, "Task A (sports, technology): %d train / %d test; task B (food, weather): %d / %d%n",
                    trainA.size(), testA.size(), trainB.size(), testB.size());
            for (boolean hft : new boolean[] {false, true}) {
                Compute.seed(SEED);
                try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), labels.size(), Pooling.MEAN)) {
                    HftConfig config = HftConfig.builder().seed(SEED).build();
                    if (hft) {
                        Peft.wrap(model, config);
                    } else {
                        Peft.wrap(model, new FullFineTuningConfig());
                    }
                    TrainingConfig cfg = TrainingConfig.builder().batchSize(16).learningRate(learningRate).warmupRatio(0.1f)
                            .weightDecay(0.01f).seed(SEED).progressBar(false).build();
                    List<Long> stamps = new ArrayList<>();
                    Trainer trainer = new Trainer(model, cfg).onStep(s -> stamps.add(System.nanoTime()));
                    AfterFirstTask probe = new AfterFirstTask(testA);
                    if (hft) {
                        trainer.addCallback(new HalfFineTuning(config));
                    }
                    trainer.addCallback(probe);
                    long t0 = System.nanoTime();
                    stamps.add(t0);
                    trainer.fit(List.of(Stage.builder("task-A", trainA).epochs(epochs).build(),
                            Stage.builder("task-B", trainB).epochs(epochs).build()), null);
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    double accA = trainer.evaluate(testA).get(Metrics.ACCURACY);
                    double accB = trainer.evaluate(testB).get(Metrics.ACCURACY);
                    double stepMs = (stamps.get(stamps.size() - 1) - stamps.get(1)) / 1e6 / Math.max(1, stamps.size() - 2);
                    table.add(String.format(Locale.ROOT, "| %s | %,d | %.3f | %.3f | %.3f | %.0f | %.1f |",
                            hft ? "HFT (seed 42)" : "full fine-tuning", probe.trainable, probe.accuracy, accA, accB, stepMs, seconds));
                }
            }
        }
        System.out.println();
        System.out.println("| method | trainable per stage | A after A | A after B | B after B | mean step (ms) | total (s) |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|");
        table.forEach(System.out::println);
    }
}

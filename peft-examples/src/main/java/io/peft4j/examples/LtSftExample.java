package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sparse.ltsft.AppliedSparseFineTunings;
import io.peft4j.sparse.ltsft.LtSftConfig;
import io.peft4j.sparse.ltsft.LtSftTraining;
import io.peft4j.sparse.ltsft.SparseFineTuning;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * LT-SFT on the real all-MiniLM-L6-v2 and the shipped topic data: full fine-tuning (phase 1), then
 * the 1% of encoder entries that moved most are kept, the model is reset and trained again with only
 * them free (phase 2). Prints test accuracy after each phase, saves the sparse fine-tuning (deltas plus
 * the dense classifier), adds it to a fresh base and evaluates that, then removes it again.
 */
public final class LtSftExample {
    private static final int MAX_TOKENS = 64;
    private static final long SEED = 42;
    private static final double DENSITY = 0.01;

    private LtSftExample() {}

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        LtSftConfig config = LtSftConfig.builder().density(DENSITY).baseModelName(pretrained.hubName()).build();
        try (TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS);
                OutputDir out = OutputDir.of(args, "peft4j-lt-sft")) {
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            double[] afterPhase1 = {Double.NaN};
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<LtSftConfig> adapter = Peft.wrap(model, config);
                TrainingConfig cfg = TrainingConfig.builder().batchSize(16).learningRate(1e-4f).warmupRatio(0.1f)
                        .weightDecay(0.01f).seed(SEED).build();
                Trainer trainer = new Trainer(model, cfg);
                // Registered before LT-SFT's callback, so it sees θ1 before the reset to θ0.
                trainer.addCallback(new TrainerCallback() {
                    @Override
                    public String name() {
                        return "phase-1-accuracy";
                    }

                    @Override
                    public void onStageBoundary(StepContext s) {
                        if (s.stageIndex() == 1) {
                            afterPhase1[0] = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
                        }
                    }
                });
                trainer.addCallback(new LtSftTraining(config));
                long t0 = System.nanoTime();
                trainer.fit(LtSftTraining.stages(data.train(), 3, 3), null);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double afterPhase2 = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
                adapter.save(out.path());
                SparseFineTuning sft = SparseFineTuning.of(model, config);
                System.out.printf(Locale.ROOT, "%nPhase 1 (full fine-tuning): test accuracy %.4f%n", afterPhase1[0]);
                System.out.printf(Locale.ROOT, "Phase 2 (%,d entries, %.1f%% of the encoder, + dense classifier): test accuracy %.4f%n",
                        sft.deltaEntries(), 100 * DENSITY, afterPhase2);
                System.out.printf(Locale.ROOT, "Both phases: %.1f s; saved to %s, %,d bytes%n", seconds, out.describe(), size(out.path()));
            }
            Compute.seed(SEED);
            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                AppliedSparseFineTunings applied = AppliedSparseFineTunings.apply(fresh, List.of(SparseFineTuning.load(out.path(), fresh)));
                System.out.printf(Locale.ROOT, "Added to a fresh base: test accuracy %.4f%n", eval.evaluate(data.test()).get(Metrics.ACCURACY));
                applied.remove();
                System.out.printf(Locale.ROOT, "Removed again (the base with its untrained head): test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }

    private static long size(Path dir) throws java.io.IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}

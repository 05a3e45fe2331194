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
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sparse.spiel.SpielConfig;
import io.peft4j.sparse.spiel.SpielModel;
import io.peft4j.sparse.spiel.SpielSchedule;

import java.nio.file.Path;
import java.util.Locale;

/**
 * SpIEL (sparse fine-tuning with drop-and-regrow) on the real all-MiniLM-L6-v2 for the shipped topic
 * dataset: 2% of the weights of every linear layer of the encoder train as sparse deltas (SpIEL-AG:
 * regrowth by accumulated gradients), the classifier trains in full. Prints the trainable share, test
 * accuracy before and after training, saves the sparse delta, reloads it onto a fresh base and prints
 * the accuracy again, then once more after merging the delta into the weights.
 *
 * <p>Argument: the directory to save the adapter to (default: a new temporary directory). Run with
 * {@code mvn -pl peft-examples exec:java -Dexec.mainClass=io.peft4j.examples.SpielExample}.
 */
public final class SpielExample {
    static final int MAX_TOKENS = 64;
    static final long SEED = 42;
    static final int EPOCHS = 5;
    static final int BATCH = 16;

    private SpielExample() {}

    static SpielConfig spielConfig() {
        return SpielConfig.builder().density(0.02f).reselectionSteps(20).selectionAccumulationSteps(5)
                .initialReselectionRate(0.2f).modulesToSave("classifier").taskType("SEQ_CLS").build();
    }

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        SpielConfig config = spielConfig();
        try (OutputDir out = OutputDir.of(args, "peft4j-spiel-adapter");
                TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            Path adapterDir = out.path();
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            long steps = (long) EPOCHS * ((data.train().size() + BATCH - 1) / BATCH);
            TrainingConfig training = TrainingConfig.builder().epochs(EPOCHS).batchSize(BATCH).learningRate(2e-3f)
                    .warmupRatio(0.1f).weightDecay(0.01f).seed(SEED).build();
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<SpielConfig> spiel = Peft.wrap(model, config);
                System.out.printf(Locale.ROOT, "SpIEL-%s, density %.3f of every encoder linear layer, %d values; "
                                + "reselection every %d steps at rate %.2f decaying to 0 over %d steps%n",
                        config.selectionAlgorithm() == SpielConfig.SelectionAlgorithm.RIGL ? "AG" : "MA",
                        config.density(), SpielModel.of(model).trainableValues(), config.reselectionSteps(),
                        config.initialReselectionRate(), steps);
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, training).addCallback(SpielSchedule.of(model, steps));
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY), (System.nanoTime() - t0) / 1e9);
                spiel.save(adapterDir);
                System.out.println("Sparse delta saved to " + out.describe()
                        + ": adapter_config.json, adapter_model.safetensors (.sft_delta.indices / .sft_delta.values)");
            }
            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<?> spiel = Peft.load(fresh, adapterDir);
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                System.out.printf(Locale.ROOT, "Reloaded onto a fresh base model: test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
                spiel.mergeAndUnload();
                System.out.printf(Locale.ROOT, "After merge-and-unload (plain BERT, deltas in the weights): test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }
}

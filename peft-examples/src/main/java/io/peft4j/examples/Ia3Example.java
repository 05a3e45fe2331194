package io.peft4j.examples;

import io.peft4j.adapters.ia3.Ia3Config;
import io.peft4j.adapters.ia3.Ia3Model;
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

import java.nio.file.Path;
import java.util.Locale;

/**
 * IA3 on the real all-MiniLM-L6-v2 for the shipped topic dataset: HF PEFT's default targets for BERT
 * ({@code key}, {@code value}, {@code output.dense}, the latter scaled on its input), the classifier
 * trained in full. Prints the trainable share, test accuracy before and after training, saves the
 * adapter in HF PEFT's format, loads it onto a fresh base model and evaluates again, then merges the
 * scales into the weights (IA3 merges exactly) and evaluates once more.
 *
 * <p>Argument: the directory to save the adapter to (default: a new temporary directory).
 */
public final class Ia3Example {
    static final int MAX_TOKENS = 64;
    static final long SEED = 42;

    private Ia3Example() {}

    /** HF PEFT's defaults for BERT; SEQ_CLS makes the classifier a module to save, as in HF PEFT. */
    static Ia3Config ia3Config() {
        return Ia3Config.builder().modulesToSave("classifier").taskType("SEQ_CLS").build();
    }

    /** IA3's vectors start at 1 and need larger steps than LoRA's matrices (the IA3 paper uses 3e-3 on T0, more here for 5 epochs). */
    static TrainingConfig.Builder trainingBuilder() {
        return TrainingConfig.builder().epochs(5).batchSize(16).learningRate(1e-2f).warmupRatio(0.1f).seed(SEED);
    }

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        try (OutputDir out = OutputDir.of(args, "peft4j-ia3-adapter");
                TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            Path adapterDir = out.path();
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<Ia3Config> ia3 = Peft.wrap(model, ia3Config());
                // The config as applied: HF PEFT's defaults filled in for this model.
                Ia3Config applied = Ia3Model.of(model).config(ia3.adapterName());
                System.out.println("IA3 on " + applied.targetModules() + ", feed-forward " + applied.feedforwardModules());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, trainingBuilder().build());
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY), (System.nanoTime() - t0) / 1e9);
                ia3.save(adapterDir);
                System.out.println("Adapter saved to " + out.describe() + ": adapter_config.json, adapter_model.safetensors");
            }
            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<?> ia3 = Peft.load(fresh, adapterDir);
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                System.out.printf(Locale.ROOT, "Reloaded onto a fresh base model: test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
                ia3.mergeAndUnload();
                System.out.printf(Locale.ROOT, "After merge-and-unload (plain BERT, no IA3 layers): test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }
}

package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.lora.LoraConfig;

import java.nio.file.Path;
import java.util.Locale;

/**
 * LoRA on the real all-MiniLM-L6-v2 for the shipped topic dataset: {@code query} and {@code value}
 * with r = 8, the classifier trained in full ({@code modules_to_save}). Prints the trainable share,
 * test accuracy before and after training, saves the adapter in HF PEFT's format, loads it onto a
 * freshly loaded base model and prints the accuracy again (then once more after merging).
 *
 * <p>Argument: the directory to save the adapter to (default: a new temporary directory).
 */
public final class LoraExample {
    static final int MAX_TOKENS = 64;
    static final long SEED = 42;

    private LoraExample() {}

    /** The adapter: r = 8 on query and value, alpha 16, dropout 0.1, the classifier trained in full. */
    static LoraConfig loraConfig() {
        return LoraConfig.builder()
                .r(8).loraAlpha(16).loraDropout(0.1f)
                .targetModules("query", "value")
                .modulesToSave("classifier")
                .taskType("SEQ_CLS")
                .build();
    }

    static TrainingConfig trainingConfig() {
        return trainingBuilder().build();
    }

    static TrainingConfig.Builder trainingBuilder() {
        return TrainingConfig.builder().epochs(5).batchSize(16).learningRate(3e-3f).warmupRatio(0.1f).weightDecay(0.01f)
                .seed(SEED);
    }

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        LoraConfig config = loraConfig();
        TrainingConfig training = trainingConfig();
        try (OutputDir out = OutputDir.of(args, "peft4j-lora-adapter");
                TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            Path adapterDir = out.path();
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            System.out.println("Base model: " + pretrained.hubName());

            double trainedAccuracy;
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<LoraConfig> lora = Peft.wrap(model, config);
                System.out.printf(Locale.ROOT, "LoRA r=%d, alpha=%.0f, dropout %.1f on %s, modules_to_save %s%n", config.r(),
                        config.loraAlpha(), config.loraDropout(), config.targetModules(), config.modulesToSave());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, training);
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n", trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                trainedAccuracy = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n", trainedAccuracy,
                        (System.nanoTime() - t0) / 1e9);
                lora.save(adapterDir);
                System.out.println("Adapter saved to " + out.describe() + ": adapter_config.json, adapter_model.safetensors");
            }

            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<?> lora = Peft.load(fresh, adapterDir);
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                System.out.printf(Locale.ROOT, "Reloaded onto a fresh base model: test accuracy %.4f%n", eval.evaluate(data.test()).get(Metrics.ACCURACY));
                lora.mergeAndUnload();
                System.out.printf(Locale.ROOT, "After merge-and-unload (plain BERT, no LoRA layers): test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }
}

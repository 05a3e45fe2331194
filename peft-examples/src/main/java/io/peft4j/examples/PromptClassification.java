package io.peft4j.examples;

import io.peft4j.adapters.prompt.PromptLearning;
import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The classification half of the prompt-method examples: all-MiniLM-L6-v2 on the shipped topic set,
 * the method's config with {@code task_type SEQ_CLS} (so the classifier trains beside the virtual tokens,
 * as HF PEFT's sequence-classification model does), accuracy before and after training, the adapter
 * saved and reloaded onto a fresh base model.
 */
final class PromptClassification {
    static final int MAX_TOKENS = 64;
    static final long SEED = 42;

    private PromptClassification() {}

    static double run(PeftConfig config, TrainingConfig training, Path adapterDir) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        try (TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            double trained;
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                PeftAdapter<PeftConfig> adapter = Peft.wrap(model, config);
                System.out.println(PromptLearning.of(model).config(adapter.adapterName()).toJson());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, training);
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n", trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                trained = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n", trained, (System.nanoTime() - t0) / 1e9);
                adapter.save(adapterDir);
                System.out.println("Adapter saved to " + adapterDir + ": adapter_config.json, adapter_model.safetensors");
            }
            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                Peft.load(fresh, adapterDir);
                double reloaded = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build()).evaluate(data.test())
                        .get(Metrics.ACCURACY);
                System.out.printf(Locale.ROOT, "Reloaded onto a fresh base model: test accuracy %.4f%n", reloaded);
            }
            return trained;
        }
    }
}

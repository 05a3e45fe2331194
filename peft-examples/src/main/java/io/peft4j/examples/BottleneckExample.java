package io.peft4j.examples;

import io.peft4j.adapters.bottleneck.BottleneckConfig;
import io.peft4j.adapters.bottleneck.BottleneckModel;
import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
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
 * Bottleneck adapters on the real all-MiniLM-L6-v2 for the shipped topic dataset: Pfeiffer's
 * architecture (AdapterHub's {@code seq_bn}: one adapter after each feed-forward output, reduction
 * factor 16, relu) or, with the argument {@code houlsby}, Houlsby's ({@code double_seq_bn}: also after
 * each attention output, swish); the classifier trained in full. Prints the trainable share, test
 * accuracy before and after training, saves the adapter (peft4j's {@code BOTTLENECK} files), loads it
 * onto a fresh base model and evaluates again.
 *
 * <p>Arguments: {@code [pfeiffer|houlsby] [directory to save the adapter to]}.
 */
public final class BottleneckExample {
    static final int MAX_TOKENS = 64;
    static final long SEED = 42;

    private BottleneckExample() {}

    static BottleneckConfig config(boolean houlsby) {
        BottleneckConfig.Builder b = houlsby ? BottleneckConfig.doubleSeqBn() : BottleneckConfig.seqBn();
        return b.modulesToSave("classifier").taskType("SEQ_CLS").build();
    }

    static TrainingConfig.Builder trainingBuilder() {
        return TrainingConfig.builder().epochs(5).batchSize(16).learningRate(3e-3f).warmupRatio(0.1f).weightDecay(0.01f)
                .seed(SEED);
    }

    public static void main(String[] args) throws Exception {
        boolean houlsby = args.length > 0 && args[0].equalsIgnoreCase("houlsby");
        String[] rest = args.length > 0 && (houlsby || args[0].equalsIgnoreCase("pfeiffer"))
                ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        BottleneckConfig config = config(houlsby);
        try (OutputDir out = OutputDir.of(rest, "peft4j-bottleneck-adapter");
                TextTokenizer tokenizer = pretrained.tokenizer(MAX_TOKENS)) {
            Path adapterDir = out.path();
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences, labels %s%n",
                    data.train().size(), data.test().size(), data.labels());
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                BottleneckModel bn = BottleneckModel.wrap(model, config);
                System.out.printf(Locale.ROOT, "%s bottleneck adapters at %d places, reduction factor %.0f, %s%n",
                        houlsby ? "Houlsby (double_seq_bn)" : "Pfeiffer (seq_bn)", bn.layers().size(),
                        config.reductionFactor(), config.nonLinearity().jsonName());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, trainingBuilder().build());
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n",
                        trainer.evaluate(data.test()).get(Metrics.ACCURACY), (System.nanoTime() - t0) / 1e9);
                bn.save(adapterDir);
                System.out.println("Adapter saved to " + out.describe() + ": adapter_config.json, adapter_model.safetensors");
            }
            try (PeftModel fresh = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                Peft.load(fresh, adapterDir);
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                System.out.printf(Locale.ROOT, "Reloaded onto a fresh base model: test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }
}

package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.examples.TopicsDataset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One method's training run, in its own JVM so that its peak resident memory is its own: MiniLM on
 * the shipped topic data, batch 32, every batch padded to 64 tokens. Writes one JSON object.
 * Arguments: method, epochs, output file.
 */
public final class TrainingRun {
    static final int BATCH = 32;
    static final int SEQ = 64;
    static final long SEED = 42;
    /** Steps left out of the mean: the first ones pay for lazy initialization in libtorch. */
    static final int WARMUP_STEPS = 3;

    private TrainingRun() {}

    public static void main(String[] args) throws Exception {
        Method method = Method.valueOf(args[0]);
        int epochs = Integer.parseInt(args[1]);
        Path out = Paths.get(args[2]);
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint ckpt = pretrained.checkpoint();
        ObjectNode result = new ObjectMapper().createObjectNode();
        try (TextTokenizer tok = pretrained.tokenizer(SEQ, true)) {
            TopicsDataset data = TopicsDataset.load(tok);
            Compute.seed(SEED);
            try (PeftModel model = Bert.sequenceClassifier(ckpt, pretrained.hubName(), data.labels().size(), Pooling.MEAN)) {
                Method.Saver saver = method.apply(model, ckpt.config().numHiddenLayers());
                long weightBytes = model.weightBytes();
                TrainingConfig cfg = TrainingConfig.builder().epochs(epochs).batchSize(BATCH)
                        .learningRate(method.learningRate).warmupRatio(0.1f).weightDecay(0.01f).seed(SEED)
                        .progressBar(false).build();
                List<Long> stamps = new ArrayList<>();
                Trainer trainer = new Trainer(model, cfg).onStep(s -> stamps.add(System.nanoTime()));
                TrainerCallback callback = method.callback(model,
                        (long) epochs * ((data.train().size() + BATCH - 1) / BATCH));
                if (callback != null) {
                    trainer.addCallback(callback);
                }
                stamps.add(System.nanoTime());
                method.fit(trainer, data.train(), epochs);
                double accuracy = trainer.evaluate(data.test()).get(Metrics.ACCURACY);
                Path dir = Files.createTempDirectory("peft4j-bench-" + method.name().toLowerCase());
                saver.save(dir);
                long bytes;
                try (Stream<Path> files = Files.list(dir)) {
                    bytes = files.mapToLong(p -> p.toFile().length()).sum();
                }
                // Only its size is measured: leave nothing behind in /tmp.
                FileTrees.delete(dir);
                double sum = 0;
                int n = 0;
                for (int i = WARMUP_STEPS + 1; i < stamps.size(); i++) {
                    sum += (stamps.get(i) - stamps.get(i - 1)) / 1e6;
                    n++;
                }
                result.put("method", method.name());
                result.put("label", method.label);
                result.put("trainable", model.trainableReport().trainable());
                result.put("total", model.trainableReport().total());
                result.put("adapter_bytes", bytes);
                result.put("steps", stamps.size() - 1);
                result.put("mean_step_ms", sum / n);
                result.put("accuracy", accuracy);
                result.put("peak_rss_kb", peakRssKb());
                result.put("weight_bytes", weightBytes);
            }
        }
        Files.writeString(out, result.toString());
    }

    /** VmHWM: the process's peak resident set, from Linux's /proc; -1 elsewhere. */
    static long peakRssKb() throws IOException {
        Path status = Paths.get("/proc/self/status");
        if (!Files.exists(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}

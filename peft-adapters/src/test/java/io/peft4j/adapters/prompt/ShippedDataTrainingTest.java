package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.data.TextClassificationData;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.task.Task;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

/**
 * Short training runs on the data peft4j ships (read from peft-examples' resources, the module next to
 * this one): the loss on the training examples must go down. A few optimizer steps each, to stay fast.
 */
class ShippedDataTrainingTest {
    private static final Path DATASETS = Path.of("..", "peft-examples", "src", "main", "resources", "datasets");

    /** The first {@code n} examples of a data set. */
    private static Batches first(Batches data, int n) {
        return new Batches() {
            @Override
            public int size() {
                return Math.min(n, data.size());
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                return data.batch(m, indices);
            }
        };
    }

    private static void assertLossFalls(PeftModel model, Task task, Batches data, float lr, int epochs) {
        Trainer trainer = new Trainer(model, task, TrainingConfig.builder().epochs(epochs).batchSize(8).learningRate(lr)
                .seed(42).build());
        double before = trainer.evaluate(data).get(Metrics.LOSS);
        trainer.fit(data, null);
        double after = trainer.evaluate(data).get(Metrics.LOSS);
        assertTrue(after < before, "loss " + before + " -> " + after);
    }

    @Test
    void promptTuningOnMiniLmTopics() throws Exception {
        PretrainedEncoder base = PretrainedEncoder.ALL_MINILM_L6_V2;
        try (TextTokenizer tokenizer = base.tokenizer(24)) {
            TextClassificationData all = TextClassificationData.read(DATASETS.resolve("topics/train.jsonl"), tokenizer);
            Compute.seed(42);
            try (PeftModel model = Bert.sequenceClassifier(base.checkpoint(), base.hubName(), all.labelNames().size(),
                    Pooling.MEAN)) {
                Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(8).taskType("SEQ_CLS").build());
                // Every 15th example: all four topics, 16 sentences, 2 steps.
                Batches sample = new Batches() {
                    @Override
                    public int size() {
                        return 16;
                    }

                    @Override
                    public Batch batch(NDManager m, int[] indices) {
                        int[] spread = new int[indices.length];
                        for (int i = 0; i < indices.length; i++) {
                            spread[i] = indices[i] * 15;
                        }
                        return all.batch(m, spread);
                    }
                };
                assertLossFalls(model, new SequenceClassification(), sample, 1e-2f, 1);
            }
        }
    }

    @Test
    void promptAndPrefixTuningOnStories260K() throws Exception {
        for (PeftConfig config : java.util.List.<PeftConfig>of(
                PromptTuningConfig.builder().numVirtualTokens(8).taskType("CAUSAL_LM").build(),
                PrefixTuningConfig.builder().numVirtualTokens(8).taskType("CAUSAL_LM").build())) {
            try (TextTokenizer tokenizer = TextTokenizer.fromJson(Stories260K.dir().resolve("tokenizer.json"), 64)) {
                CausalLmData data = CausalLmData.builder(tokenizer).read(DATASETS.resolve("stories/train.jsonl"));
                Compute.seed(42);
                try (PeftModel model = Llama.causalLm(Stories260K.dir(), "karpathy/tinyllamas/stories260K")) {
                    Peft.wrap(model, config);
                    assertLossFalls(model, new CausalLanguageModeling(), first(data, 16), 3e-2f, 1);
                }
            }
        }
    }
}

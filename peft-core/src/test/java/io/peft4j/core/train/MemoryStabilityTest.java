package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.data.TextClassificationData;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.testing.Memory;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * 300 full fine-tuning steps of the real MiniLM: resident memory must stay flat after warm-up, which
 * it only does if every per-step array (inputs, activations, gradient handles, optimizer temporaries)
 * is freed with the step's sub-manager. The forced GCs also catch tensors whose Java-owned memory
 * is freed while autograd still needs it: they show up as NaN gradients.
 *
 * <p>A soak (minutes): it runs with {@code -Psoak} only. {@link ManagedArraysTest} checks the same
 * per-step freeing exactly, in seconds, by counting the arrays the model's manager holds.
 */
@Tag("soak")
class MemoryStabilityTest {
    private static final int STEPS = 300;
    private static final int WARMUP = 30;
    private static final long LIMIT_BYTES = 50L * 1024 * 1024;


    @Test
    void residentMemoryIsFlatOver300Steps() throws Exception {
        PretrainedEncoder pre = PretrainedEncoder.ALL_MINILM_L6_V2;
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            texts.add((i % 2 == 0 ? "the match ended with a late goal number " : "heavy rain and wind tonight number ") + i);
        }
        try (TextTokenizer tok = pre.tokenizer(32);
                PeftModel model = Bert.sequenceClassifier(pre, 2)) {
            model.setAllTrainable(true);
            int[] labels = new int[texts.size()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = i % 2;
            }
            Batches data = new TextClassificationData(texts, labels, List.of("weather", "sport"), tok);
            long[] rss = new long[2];
            long[] steps = {0};
            int epochs = STEPS * 4 / texts.size(); // batch 4: 10 steps per epoch
            TrainingConfig cfg = TrainingConfig.builder().epochs(epochs).batchSize(4).learningRate(2e-5f)
                    .progressBar(false).build();
            new Trainer(model, cfg).onStep(s -> {
                steps[0] = s;
                try {
                    if (s == WARMUP) {
                        System.gc();
                        rss[0] = Memory.residentBytes();
                    } else if (s == STEPS) {
                        System.gc();
                        rss[1] = Memory.residentBytes();
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).fit(data, null);
            assertEquals(STEPS, steps[0]);
            long growth = rss[1] - rss[0];
            System.out.printf("RSS after %d steps: %.1f MB, after %d: %.1f MB, growth %.1f MB%n",
                    WARMUP, rss[0] / 1048576.0, STEPS, rss[1] / 1048576.0, growth / 1048576.0);
            assertTrue(growth < LIMIT_BYTES, "resident memory grew by " + growth / 1048576 + " MB over "
                    + (STEPS - WARMUP) + " steps (limit 50 MB)");
        }
    }
}

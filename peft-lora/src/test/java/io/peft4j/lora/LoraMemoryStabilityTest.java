package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.PeftModel;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;

/**
 * 3,000 LoRA training steps with DoRA and dropout on (every per-step path of the layer runs):
 * resident memory must stay flat once warm, and no gradient may turn NaN (the trainer stops on
 * one), which is what a scalar freed under autograd would cause.
 *
 * <p>Batches are made from Java arrays through direct buffers, whose native memory is only returned
 * when the GC collects them; with a tiny model the heap barely moves, so the test collects every
 * 250 steps and measures from step 1,000, after glibc's and libtorch's allocators have warmed up
 * (seen: about +40 MB up to step 1,000, then flat within ±15 MB up to step 8,000). A leak of one
 * small array per step (20 KB) would add 40 MB over the measured 2,000 steps; the DoRA leak this
 * test was written for added 370 KB per step.
 *
 * <p>A soak (a minute): it runs with {@code -Psoak} only. {@link LoraManagedArraysTest} checks the
 * same per-step freeing exactly, in seconds, by counting the arrays the model's manager holds.
 */
@Tag("soak")
class LoraMemoryStabilityTest {
    private static final int STEPS = 3000;
    private static final int WARMUP = 1000;
    private static final long LIMIT_BYTES = 40L * 1024 * 1024;


    private static LoraConfig config() {
        return LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1f).useDora(true)
                .targetModules("query", "value", "dense").excludeModules("pooler.dense")
                .modulesToSave("classifier").build();
    }

    @Test
    void residentMemoryIsFlatOverThousandsOfLoraSteps() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            LoraModel.wrap(m, config());
            trainAndCheck(m, "LoRA");
        }
    }

    /** QLoRA dequantizes every base weight in every forward (and DoRA's norm needs it again). */
    @Test
    void residentMemoryIsFlatOverThousandsOfQloraSteps() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            QLora.wrap(m, config());
            trainAndCheck(m, "QLoRA");
        }
    }

    private static void trainAndCheck(PeftModel m, String label) {
        {
            long[] rss = new long[2];
            long[] last = {0};
            int size = 64;
            int batch = 4;
            TrainingConfig cfg = TrainingConfig.builder().epochs(STEPS * batch / size + 1).batchSize(batch)
                    .learningRate(1e-3f).warmupRatio(0.1f).weightDecay(0.01f).progressBar(false).build();
            new Trainer(m, cfg).onStep(s -> {
                last[0] = s;
                try {
                    if (s % 250 == 0) {
                        System.gc();
                    }
                    if (s == WARMUP || s == STEPS) {
                        rss[s == WARMUP ? 0 : 1] = Memory.residentBytes();
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).fit(TinyBert.task(size, 5), null);
            assertTrue(last[0] >= STEPS, "ran " + last[0] + " steps");
            long growth = rss[1] - rss[0];
            System.out.println(label + " memory: RSS " + rss[0] / 1048576 + " MB at step " + WARMUP + ", "
                    + rss[1] / 1048576 + " MB at step " + STEPS);
            assertTrue(growth < LIMIT_BYTES, "RSS grew by " + growth / 1024 + " KB from step " + WARMUP + " to " + STEPS);
        }
    }
}

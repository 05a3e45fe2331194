package io.peft4j.benchmarks.decoder;

import io.peft4j.core.model.llama.LlamaConfig;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The memory guard: what must not start on a 24 GiB machine, and floors the estimate can never go under. */
class MemoryEstimateTest {
    private static final long GIB = 1L << 30;
    private static final long HEAP = 2 * GIB;
    /** Plenty available: only the limit decides. */
    private static final long AMPLE_KB = 128L << 20;

    private static long need(DecoderJob job, DecoderSize size) {
        LlamaConfig c = size.randomConfig();
        long params = RandomLlamaDirectory.parameterCount(c);
        return MemoryEstimate.bytes(job, c, params, 512, HEAP, 2 * params); // a bfloat16 checkpoint
    }

    @Test
    void fullFineTuningNeedsAtLeastSixteenBytesAParameter() {
        // float32 weights, gradients and AdamW's two moments: 4 x 4 bytes, before any activation.
        for (DecoderSize size : new DecoderSize[] {DecoderSize.QWEN2_0_5B, DecoderSize.TINYLLAMA_1_1B}) {
            long params = RandomLlamaDirectory.parameterCount(size.randomConfig());
            assertTrue(need(DecoderJob.FULL, size) > 16 * params + HEAP, size.label);
            assertTrue(need(DecoderJob.LORA, size) > 4 * params + HEAP, size.label);
        }
    }

    @Test
    void fullFineTuningOfTinyLlamaIsSkippedOnA24GibMachineAndTheRestRuns() {
        // 1.1e9 parameters x 16 bytes is 16.4 GiB before activations, the heap and libtorch.
        assertNotNull(MemoryEstimate.reasonToSkip(need(DecoderJob.FULL, DecoderSize.TINYLLAMA_1_1B), AMPLE_KB, 24 * GIB));
        assertNull(MemoryEstimate.reasonToSkip(need(DecoderJob.LORA, DecoderSize.TINYLLAMA_1_1B), AMPLE_KB, 24 * GIB));
        assertNull(MemoryEstimate.reasonToSkip(need(DecoderJob.QLORA, DecoderSize.TINYLLAMA_1_1B), AMPLE_KB, 24 * GIB));
        assertNull(MemoryEstimate.reasonToSkip(need(DecoderJob.FULL, DecoderSize.QWEN2_0_5B), AMPLE_KB, 24 * GIB));
    }

    @Test
    void lessAvailableMemoryThanTheLimitDecidesAndIsNamed() {
        long need = need(DecoderJob.FULL, DecoderSize.QWEN2_0_5B);
        String why = MemoryEstimate.reasonToSkip(need, need / 1024 / 2, 24 * GIB);
        assertNotNull(why);
        assertTrue(why.contains("MemAvailable"), why);
        assertTrue(MemoryEstimate.reasonToSkip(need, AMPLE_KB, need / 2).contains("--memory-limit-gb"));
    }
}

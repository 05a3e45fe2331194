package io.peft4j.benchmarks.decoder;

import io.peft4j.core.model.llama.LlamaConfig;

/**
 * A deliberately generous estimate of a child JVM's peak memory, so that a run that could make the
 * machine swap or meet the OOM killer is skipped instead of started. Weights are float32 in memory
 * (4 bytes a parameter); full fine-tuning adds a float32 gradient and AdamW's two moments (16 bytes a
 * parameter in all). Activations kept for the backward pass are counted per layer from the shapes:
 * about 16 hidden-sized and 5 intermediate-sized float32 arrays per token, and two attention maps
 * (scores and probabilities) per head; plus the cross-entropy's chunk of logits, the Java heap, a
 * fixed allowance for libtorch and the JVM itself, and the checkpoint's size: loading maps its files,
 * and the pages it touches count in the resident set (file-backed, but resident all the same).
 */
final class MemoryEstimate {
    static final long GB = 1L << 30;
    private static final long NATIVE_OVERHEAD = GB;

    private MemoryEstimate() {}

    /**
     * @param seq tokens in one forward: the training sequence, or prompt + new tokens when generating
     * @param checkpointBytes the checkpoint's files on disk
     */
    static long bytes(DecoderJob job, LlamaConfig c, long parameters, int seq, long heapBytes, long checkpointBytes) {
        long weights = 4 * parameters;
        long base = heapBytes + NATIVE_OVERHEAD + checkpointBytes;
        if (!job.trains()) {
            // Without the cache every step reruns the prefix: one forward's arrays, none kept.
            long forward = 4L * seq * ((long) c.numAttentionHeads() * seq + 2L * c.intermediateSize() + c.vocabSize());
            return base + weights + forward;
        }
        long perLayer = 4L * seq * (16L * c.hiddenSize() + 5L * c.intermediateSize() + 2L * c.numAttentionHeads() * seq);
        long activations = perLayer * c.numHiddenLayers();
        long logits = 3L * 4 * 256 * c.vocabSize();
        long optimizer = job == DecoderJob.FULL ? 12 * parameters : 0;
        return base + weights + optimizer + activations + logits;
    }

    /**
     * Why a run estimated at {@code need} bytes must not start, or null when it may: it must stay under
     * 90 % of the smaller of the limit and what the kernel reports available (a tenth kept back for
     * the OS, the page cache and other processes, since the estimate is no bound).
     *
     * @param availableKb MemAvailable, or a negative number when unknown
     */
    static String reasonToSkip(long need, long availableKb, long limitBytes) {
        boolean byAvailable = availableKb >= 0 && availableKb * 1024 < limitBytes;
        long budget = byAvailable ? availableKb * 1024 : limitBytes;
        if (need <= budget / 10 * 9) {
            return null;
        }
        return String.format(java.util.Locale.ROOT, "needs about %.1f GiB (estimate) > 90%% of %.1f GiB (%s)",
                need / (double) GB, budget / (double) GB, byAvailable ? "MemAvailable" : "--memory-limit-gb");
    }
}

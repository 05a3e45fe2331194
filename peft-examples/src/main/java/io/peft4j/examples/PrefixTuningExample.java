package io.peft4j.examples;

import io.peft4j.adapters.prompt.PrefixTuningConfig;
import io.peft4j.core.train.TrainingConfig;

/**
 * Prefix tuning (Li and Liang 2021): 20 trainable keys and values in front of every attention layer of
 * stories260K, trained through a Linear-Tanh-Linear reparameterization of width 64 that is dropped when
 * the adapter is saved, on the shipped Pip stories. (peft4j's BERT-family encoders read no key/value cache,
 * so prefix tuning is for decoders; the classification examples use prompt tuning and P-tuning.)
 * Argument: the adapter directory (default: temporary).
 */
public final class PrefixTuningExample {
    private PrefixTuningExample() {}

    public static void main(String[] args) throws Exception {
        try (OutputDir out = OutputDir.of(args, "peft4j-prefix-tuning")) {
            PromptStories.run(PrefixTuningConfig.builder().numVirtualTokens(20).taskType("CAUSAL_LM")
                            .prefixProjection(true).encoderHiddenSize(64).build(),
                    TrainingConfig.builder().epochs(2).batchSize(16).learningRate(1e-2f).warmupRatio(0.1f)
                            .seed(StoriesLoraExample.SEED).build(),
                    out.path());
        }
    }
}

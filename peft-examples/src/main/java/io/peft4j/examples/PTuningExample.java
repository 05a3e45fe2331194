package io.peft4j.examples;

import io.peft4j.adapters.prompt.EncoderReparameterizationType;
import io.peft4j.adapters.prompt.PTuningConfig;
import io.peft4j.core.train.TrainingConfig;

/**
 * P-tuning (Liu et al. 2021): 20 virtual tokens produced by an MLP prompt encoder of width 128 while
 * training, on all-MiniLM-L6-v2 and the shipped topic set. The saved adapter is the encoder's output, so
 * the reloaded model runs without the encoder. Argument: the adapter directory (default: temporary).
 */
public final class PTuningExample {
    private PTuningExample() {}

    public static void main(String[] args) throws Exception {
        try (OutputDir out = OutputDir.of(args, "peft4j-p-tuning")) {
            PromptClassification.run(PTuningConfig.builder().numVirtualTokens(20).taskType("SEQ_CLS")
                            .encoderReparameterizationType(EncoderReparameterizationType.MLP).encoderHiddenSize(128).build(),
                    TrainingConfig.builder().epochs(5).batchSize(16).learningRate(1e-2f).warmupRatio(0.1f)
                            .seed(PromptClassification.SEED).build(),
                    out.path());
        }
    }
}

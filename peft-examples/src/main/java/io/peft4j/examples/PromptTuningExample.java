package io.peft4j.examples;

import io.peft4j.adapters.prompt.PromptTuningConfig;
import io.peft4j.core.train.TrainingConfig;

/**
 * Prompt tuning (Lester et al. 2021): 20 trainable virtual tokens in front of every input, the base
 * frozen. First all-MiniLM-L6-v2 on the shipped topic set (the classifier trains too, as HF PEFT's
 * {@code SEQ_CLS}), then stories260K on the Pip stories. Argument: the directory for the two adapters
 * (default: a new temporary directory).
 */
public final class PromptTuningExample {
    private PromptTuningExample() {}

    public static void main(String[] args) throws Exception {
        try (OutputDir out = OutputDir.of(args, "peft4j-prompt-tuning")) {
            System.out.println("== Prompt tuning: topic classification ==");
            PromptClassification.run(PromptTuningConfig.builder().numVirtualTokens(20).taskType("SEQ_CLS").build(),
                    TrainingConfig.builder().epochs(5).batchSize(16).learningRate(3e-2f).warmupRatio(0.1f)
                            .seed(PromptClassification.SEED).build(),
                    out.path().resolve("topics"));
            System.out.println("== Prompt tuning: stories260K ==");
            PromptStories.run(PromptTuningConfig.builder().numVirtualTokens(20).taskType("CAUSAL_LM").build(),
                    TrainingConfig.builder().epochs(2).batchSize(16).learningRate(3e-2f).warmupRatio(0.1f)
                            .seed(StoriesLoraExample.SEED).build(),
                    out.path().resolve("stories"));
        }
    }
}

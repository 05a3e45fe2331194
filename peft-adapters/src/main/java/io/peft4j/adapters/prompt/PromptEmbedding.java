package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

/**
 * HF PEFT's {@code PromptEmbedding}: the virtual tokens are the table itself. Prompt tuning trains it;
 * a P-tuning or prefix-tuning adapter loaded from its saved {@code prompt_embeddings} is one too, as
 * HF PEFT runs those in inference mode without their encoders.
 */
final class PromptEmbedding extends VirtualTokenEncoder {
    private final long width;

    PromptEmbedding(int rows, long width) {
        super(rows, width);
        this.width = width;
    }

    @Override
    long width() {
        return width;
    }

    @Override
    NDArray output(ParameterStore ps, NDManager step, boolean training) {
        return table(ps, step, training);
    }
}

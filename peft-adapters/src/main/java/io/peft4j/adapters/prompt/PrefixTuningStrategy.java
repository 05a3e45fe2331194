package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;

/**
 * {@code PREFIX_TUNING} (Li and Liang 2021; P-tuning v2): trainable keys and values in front of every
 * attention layer of a decoder, optionally through a Linear, Tanh, Linear reparameterization while
 * training ({@code prefix_projection}); saved as {@code prompt_embeddings [n, num_layers * 2 * kv_width]}.
 */
public final class PrefixTuningStrategy extends PromptLearningStrategy<PrefixTuningConfig> {
    @Override
    public String type() {
        return PrefixTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<PrefixTuningConfig> configType() {
        return PrefixTuningConfig.class;
    }

    @Override
    public PrefixTuningConfig parseConfig(JsonNode json) {
        return PrefixTuningConfig.fromJson(json);
    }

    @Override
    boolean prefixes() {
        return true;
    }

    @Override
    VirtualTokenEncoder createEncoder(PeftModel model, PrefixTuningConfig config, BaseShape shape) {
        int n = config.numVirtualTokens();
        long width = width(shape, config);
        VirtualTokenEncoder encoder = config.prefixProjection()
                ? new PrefixEncoder(n, config.tokenDim(), config.encoderHiddenSize(), width)
                : new PromptEmbedding(n, width);
        encoder.embedding().setParameterArray("weight", standardNormal(model, n, encoder.embedding().dim()));
        return encoder;
    }
}

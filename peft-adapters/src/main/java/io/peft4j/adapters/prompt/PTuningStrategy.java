package io.peft4j.adapters.prompt;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;

/**
 * {@code P_TUNING} (Liu et al. 2021, "GPT Understands, Too"): virtual-token embeddings produced by a
 * trainable prompt encoder (MLP or bidirectional LSTM) from a trainable table; what is saved is the
 * encoder's output, so the loaded adapter is a plain table.
 */
public final class PTuningStrategy extends PromptLearningStrategy<PTuningConfig> {
    @Override
    public String type() {
        return PTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<PTuningConfig> configType() {
        return PTuningConfig.class;
    }

    @Override
    public PTuningConfig parseConfig(JsonNode json) {
        return PTuningConfig.fromJson(json);
    }

    @Override
    boolean prefixes() {
        return false;
    }

    @Override
    VirtualTokenEncoder createEncoder(PeftModel model, PTuningConfig config, BaseShape shape) {
        int n = config.numVirtualTokens();
        int h = config.encoderHiddenSize();
        VirtualTokenEncoder encoder = config.encoderReparameterizationType() == EncoderReparameterizationType.LSTM
                ? new LstmPromptEncoder(n, shape.hiddenSize(), h, config.encoderNumLayers(), config.encoderDropout())
                : new MlpPromptEncoder(n, shape.hiddenSize(), h);
        encoder.embedding().setParameterArray("weight", standardNormal(model, n, shape.hiddenSize()));
        return encoder;
    }
}

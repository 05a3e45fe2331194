package io.peft4j.adapters.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Bottleneck adapters through peft-core's strategy SPI ({@code peft_type} {@code BOTTLENECK}); the work is {@link BottleneckModel}'s. */
public final class BottleneckStrategy implements PeftStrategy<BottleneckConfig> {
    @Override
    public String type() {
        return BottleneckConfig.TYPE;
    }

    @Override
    public Class<BottleneckConfig> configType() {
        return BottleneckConfig.class;
    }

    @Override
    public BottleneckConfig parseConfig(JsonNode json) {
        return BottleneckConfig.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, BottleneckConfig config, String adapterName) {
        BottleneckModel m = BottleneckModel.of(model);
        m.addAdapter(adapterName, config);
        m.setAdapter(adapterName);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, BottleneckConfig config, String adapterName) {
        return BottleneckModel.of(model).adapterState(adapterName);
    }

    @Override
    public void load(PeftModel model, BottleneckConfig config, Map<String, Tensor> tensors, String adapterName) {
        BottleneckModel.of(model).loadAdapter(config, tensors, adapterName);
    }

    @Override
    public void load(PeftModel model, BottleneckConfig config, Map<String, Tensor> tensors, String adapterName,
            boolean trainable) {
        load(model, config.toBuilder().inferenceMode(!trainable).build(), tensors, adapterName);
    }

    @Override
    public void save(PeftModel model, BottleneckConfig config, String adapterName, Path dir) throws IOException {
        BottleneckModel.of(model).save(dir, adapterName);
    }

    /**
     * Refused: a bottleneck adapter computes a non-linear function of the hidden states, which no change
     * of the base weights reproduces. {@link BottleneckModel#unload()} removes adapters without merging.
     */
    @Override
    public void mergeAndUnload(PeftModel model, BottleneckConfig config, String adapterName) {
        throw new UnsupportedOperationException("Bottleneck adapter '" + adapterName + "' cannot be merged into the base"
                + " weights: it applies a non-linearity between its projections. Keep the adapter for inference, or"
                + " use BottleneckModel.unload() to remove it");
    }
}

package io.peft4j.sparse.spiel;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** SpIEL through peft-core's strategy SPI ({@code peft_type} {@code SPIEL}); the work is {@link SpielModel}'s. */
public final class SpielStrategy implements PeftStrategy<SpielConfig> {
    @Override
    public String type() {
        return SpielConfig.TYPE;
    }

    @Override
    public Class<SpielConfig> configType() {
        return SpielConfig.class;
    }

    @Override
    public SpielConfig parseConfig(JsonNode json) {
        return SpielConfig.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, SpielConfig config, String adapterName) {
        SpielModel spiel = SpielModel.of(model);
        spiel.addAdapter(adapterName, config);
        spiel.setAdapter(adapterName);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, SpielConfig config, String adapterName) {
        return SpielModel.of(model).adapterState(adapterName);
    }

    @Override
    public void load(PeftModel model, SpielConfig config, Map<String, Tensor> tensors, String adapterName) {
        SpielModel.of(model).loadAdapter(config, tensors, adapterName);
    }

    @Override
    public void load(PeftModel model, SpielConfig config, Map<String, Tensor> tensors, String adapterName,
            boolean trainable) {
        load(model, config.toBuilder().inferenceMode(!trainable).build(), tensors, adapterName);
    }

    @Override
    public void save(PeftModel model, SpielConfig config, String adapterName, Path dir) throws IOException {
        SpielModel.of(model).save(dir, adapterName);
    }

    /** Merges the adapter into the base weights (a quantized base: dequantize, add, quantize) and removes SpIEL's layers. */
    @Override
    public void mergeAndUnload(PeftModel model, SpielConfig config, String adapterName) {
        SpielModel spiel = SpielModel.of(model);
        spiel.setAdapter(adapterName);
        spiel.mergeAndUnload();
    }
}

package io.peft4j.adapters.ia3;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** IA3 through peft-core's strategy SPI ({@code peft_type} {@code IA3}); the work is {@link Ia3Model}'s. */
public final class Ia3Strategy implements PeftStrategy<Ia3Config> {
    @Override
    public String type() {
        return Ia3Config.TYPE;
    }

    @Override
    public Class<Ia3Config> configType() {
        return Ia3Config.class;
    }

    @Override
    public Ia3Config parseConfig(JsonNode json) {
        return Ia3Config.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, Ia3Config config, String adapterName) {
        Ia3Model ia3 = Ia3Model.of(model);
        ia3.addAdapter(adapterName, config);
        ia3.setAdapter(adapterName);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, Ia3Config config, String adapterName) {
        return Ia3Model.of(model).adapterState(adapterName);
    }

    /** Loads the adapter; it trains unless the config says {@code inference_mode} (as every HF PEFT save does). */
    @Override
    public void load(PeftModel model, Ia3Config config, Map<String, Tensor> tensors, String adapterName) {
        Ia3Model.of(model).loadAdapter(config, tensors, adapterName);
    }

    @Override
    public void load(PeftModel model, Ia3Config config, Map<String, Tensor> tensors, String adapterName,
            boolean trainable) {
        load(model, config.toBuilder().inferenceMode(!trainable).build(), tensors, adapterName);
    }

    /** Saves as HF PEFT does: {@code inference_mode} true, keys without the adapter's name. */
    @Override
    public void save(PeftModel model, Ia3Config config, String adapterName, Path dir) throws IOException {
        Ia3Model.of(model).save(dir, adapterName);
    }

    /** Folds the adapter's scales into the base weights and removes every IA3 layer. */
    @Override
    public void mergeAndUnload(PeftModel model, Ia3Config config, String adapterName) {
        Ia3Model ia3 = Ia3Model.of(model);
        ia3.setAdapter(adapterName);
        ia3.mergeAndUnload();
    }
}

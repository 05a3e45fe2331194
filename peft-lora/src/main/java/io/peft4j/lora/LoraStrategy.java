package io.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.util.Map;

/** LoRA through peft-core's strategy SPI ({@code peft_type} {@code LORA}); the work is {@link LoraModel}'s. */
public final class LoraStrategy implements PeftStrategy<LoraConfig> {
    @Override
    public String type() {
        return LoraConfig.TYPE;
    }

    @Override
    public LoraConfig parseConfig(JsonNode json) {
        return LoraConfig.fromJson(json);
    }

    /** Adds the adapter and makes it the active one. */
    @Override
    public void apply(PeftModel model, LoraConfig config, String adapterName) {
        LoraModel lora = LoraModel.of(model);
        lora.addAdapter(adapterName, config);
        lora.setAdapter(adapterName);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, LoraConfig config, String adapterName) {
        return LoraModel.of(model).adapterState(adapterName);
    }

    /** Loads the adapter; it trains unless the config says {@code inference_mode} (as every HF PEFT save does). */
    @Override
    public void load(PeftModel model, LoraConfig config, Map<String, Tensor> tensors, String adapterName) {
        LoraModel.of(model).loadAdapter(config, tensors, adapterName);
    }

    /** Merges the adapter into the base weights and removes every LoRA layer. */
    @Override
    public void merge(PeftModel model, LoraConfig config, String adapterName) {
        LoraModel lora = LoraModel.of(model);
        lora.setAdapter(adapterName);
        lora.mergeAndUnload();
    }
}

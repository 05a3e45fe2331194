package io.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * LoRA through peft-core's strategy SPI ({@code peft_type} {@code LORA}); the work is {@link LoraModel}'s.
 * A config that carries a quantization config is QLoRA: the base is quantized first.
 */
public final class LoraStrategy implements PeftStrategy<LoraConfig> {
    @Override
    public String type() {
        return LoraConfig.TYPE;
    }

    @Override
    public Class<LoraConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public LoraConfig parseConfig(JsonNode json) {
        return LoraConfig.fromJson(json);
    }

    /** Adds the adapter and makes it the active one (QLoRA when the config carries a quantization config). */
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

    @Override
    public void load(PeftModel model, LoraConfig config, Map<String, Tensor> tensors, String adapterName,
            boolean trainable) {
        load(model, config.toBuilder().inferenceMode(!trainable).build(), tensors, adapterName);
    }

    /** Saves as {@link LoraModel#save(Path, String)} does: {@code inference_mode} true, as HF PEFT writes it. */
    @Override
    public void save(PeftModel model, LoraConfig config, String adapterName, Path dir) throws IOException {
        LoraModel.of(model).save(dir, adapterName);
    }

    /** Merges the adapter into the base weights and removes every LoRA layer. */
    @Override
    public void mergeAndUnload(PeftModel model, LoraConfig config, String adapterName) {
        LoraModel lora = LoraModel.of(model);
        lora.setAdapter(adapterName);
        lora.mergeAndUnload();
    }
}

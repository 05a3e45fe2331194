package io.peft4j.core.strategy;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;

import java.util.Map;

/**
 * The service a strategy module provides, found with {@link java.util.ServiceLoader} by the
 * {@code peft_type} stored in a saved config. Implementations are stateless; what a strategy adds
 * to a model lives in the model (its layers and parameters).
 *
 * <p>Contract for failures: {@link #apply} and {@link #load} check everything they need before
 * changing the model, so a rejected config or adapter file leaves the model exactly as it was.
 */
public interface PeftStrategy<C extends PeftConfig> {
    /** The {@code peft_type} this strategy handles. */
    String type();

    /** The config from its saved JSON; unknown fields are ignored. */
    C parseConfig(JsonNode json);

    /** Prepares a model for training under the config: wraps modules and sets what is trainable. */
    void apply(PeftModel model, C config, String adapterName);

    /** The tensors that make up the adapter, by the key names written to {@code adapter_model.safetensors}. */
    Map<String, Tensor> state(PeftModel model, C config, String adapterName);

    /** Applies the config to a base model and fills the adapter from saved tensors. */
    void load(PeftModel model, C config, Map<String, Tensor> tensors, String adapterName);

    /** Folds the adapter into the base weights so the model runs without it. */
    void merge(PeftModel model, C config, String adapterName);
}

package io.peft4j.core.strategy;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;

import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.Map;

/**
 * The service a strategy module provides, found with {@link java.util.ServiceLoader} by the
 * {@code peft_type} stored in a saved config. Implementations are stateless; what a strategy adds
 * to a model lives in the model (its layers and parameters). Users reach strategies through
 * {@link io.peft4j.core.Peft}.
 *
 * <p>Contract for failures: {@link #apply} and {@link #load} check everything they need before
 * changing the model, so a rejected config or adapter file leaves the model exactly as it was.
 */
public interface PeftStrategy<C extends PeftConfig> {
    /** The {@code peft_type} this strategy handles. */
    String type();

    /**
     * The config class this strategy takes. By default read from the {@code PeftStrategy<C>} the
     * class implements directly; override when that is not a plain class.
     */
    @SuppressWarnings("unchecked")
    default Class<C> configType() {
        for (Type t : getClass().getGenericInterfaces()) {
            if (t instanceof ParameterizedType && ((ParameterizedType) t).getRawType() == PeftStrategy.class) {
                Type arg = ((ParameterizedType) t).getActualTypeArguments()[0];
                if (arg instanceof Class) {
                    return (Class<C>) arg;
                }
            }
        }
        throw new IllegalStateException(getClass().getName() + " must override configType()");
    }

    /** The config from its saved JSON; unknown fields are kept or ignored, wrong types refused. */
    C parseConfig(JsonNode json);

    /** Prepares a model for training under the config: wraps modules and sets what is trainable. */
    void apply(PeftModel model, C config, String adapterName);

    /** The tensors that make up the adapter, by the key names written to {@code adapter_model.safetensors}. */
    Map<String, Tensor> state(PeftModel model, C config, String adapterName);

    /** Applies the config to a base model and fills the adapter from saved tensors. */
    void load(PeftModel model, C config, Map<String, Tensor> tensors, String adapterName);

    /**
     * As {@link #load(PeftModel, PeftConfig, Map, String)}, then trainable or frozen for inference
     * (HF PEFT's {@code is_trainable}). By default frozen means every parameter frozen.
     */
    default void load(PeftModel model, C config, Map<String, Tensor> tensors, String adapterName, boolean trainable) {
        load(model, config, tensors, adapterName);
        if (!trainable) {
            model.setAllTrainable(false);
        }
    }

    /** Writes the adapter to {@code dir} in HF PEFT's layout; by default its config and {@link #state}. */
    default void save(PeftModel model, C config, String adapterName, Path dir) throws IOException {
        AdapterFiles.save(model, this, config, adapterName, dir);
    }

    /** Folds the adapter into the base weights and removes what the strategy added, so the model runs without it. */
    void mergeAndUnload(PeftModel model, C config, String adapterName);
}

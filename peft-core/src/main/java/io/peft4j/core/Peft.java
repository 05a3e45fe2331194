package io.peft4j.core;

import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.strategy.PeftStrategy;
import io.peft4j.core.strategy.Strategies;
import io.peft4j.core.tuner.HfKeys;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The one entry point for every strategy on the classpath, as HF PEFT's {@code get_peft_model} and
 * {@code PeftModel.from_pretrained}: {@link #wrap} applies a config (LoRA, QLoRA — a LoRA config
 * carrying a quantization config —, FULL, FREEZE, ...) and {@link #load} an adapter directory,
 * whichever method wrote it. Both return a {@link PeftAdapter} that saves and merges the same way
 * for every method.
 */
public final class Peft {
    /** HF PEFT's name for the adapter {@code get_peft_model} creates. */
    public static final String DEFAULT_ADAPTER = "default";

    private Peft() {}

    /** Applies {@code config} to the model as the adapter {@code "default"}. */
    public static <C extends PeftConfig> PeftAdapter<C> wrap(PeftModel model, C config) {
        return wrap(model, config, DEFAULT_ADAPTER);
    }

    /** Applies {@code config} under a name; the model is unchanged when the config does not fit it. */
    public static <C extends PeftConfig> PeftAdapter<C> wrap(PeftModel model, C config, String adapterName) {
        PeftStrategy<C> strategy = Strategies.forConfig(config);
        strategy.apply(model, config, adapterName);
        return new PeftAdapter<>(model, strategy, config, adapterName);
    }

    /** Loads an adapter directory as {@code "default"}, frozen for inference (HF PEFT's default). */
    public static PeftAdapter<PeftConfig> load(PeftModel model, Path dir) throws IOException {
        return load(model, dir, DEFAULT_ADAPTER, false);
    }

    /** Loads an adapter directory as {@code "default"}, trainable or frozen. */
    public static PeftAdapter<PeftConfig> load(PeftModel model, Path dir, boolean trainable) throws IOException {
        return load(model, dir, DEFAULT_ADAPTER, trainable);
    }

    /**
     * Loads an adapter directory (HF PEFT's layout, any {@code peft_type} on the classpath) under a
     * name. On any error the model is left as it was.
     *
     * @param trainable false to freeze it for inference, true to train it further (HF's {@code is_trainable})
     */
    public static PeftAdapter<PeftConfig> load(PeftModel model, Path dir, String adapterName, boolean trainable)
            throws IOException {
        return loadTyped(model, AdapterFiles.readConfig(dir), AdapterFiles.readTensors(dir), dir, adapterName, trainable);
    }

    private static <C extends PeftConfig> PeftAdapter<PeftConfig> loadTyped(PeftModel model, C config,
            Map<String, Tensor> tensors, Path dir, String adapterName, boolean trainable) {
        PeftStrategy<C> strategy = Strategies.forConfig(config);
        try {
            strategy.load(model, config, HfKeys.mapOnto(model, tensors), adapterName, trainable);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
        return PeftAdapter.untyped(new PeftAdapter<>(model, strategy, config, adapterName));
    }
}

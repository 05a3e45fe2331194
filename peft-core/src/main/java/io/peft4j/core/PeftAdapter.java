package io.peft4j.core;

import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An adapter applied to a model by {@link Peft}: the one way to save or merge it, whatever the
 * method. The model holds the adapter; this is a handle on it.
 *
 * @param <C> the config type it was made from ({@link PeftConfig} when loaded from a directory)
 */
public final class PeftAdapter<C extends PeftConfig> {
    private final PeftModel model;
    private final Bound<?> bound;
    private final String adapterName;
    private final C config;

    /** The strategy with its own config type, so calls into it need no cast. */
    private static final class Bound<T extends PeftConfig> {
        final PeftStrategy<T> strategy;
        final T config;

        Bound(PeftStrategy<T> strategy, T config) {
            this.strategy = strategy;
            this.config = config;
        }

        /** The config as the model holds it now (a strategy may record a refined copy), else the applied one. */
        T current(PeftModel model, String name) {
            PeftConfig held = model.adapters().get(name);
            return strategy.configType().isInstance(held) ? strategy.configType().cast(held) : config;
        }
    }

    <S extends C> PeftAdapter(PeftModel model, PeftStrategy<S> strategy, S config, String adapterName) {
        this.model = model;
        this.bound = new Bound<>(strategy, config);
        this.adapterName = adapterName;
        this.config = config;
    }

    private PeftAdapter(PeftModel model, Bound<?> bound, C config, String adapterName) {
        this.model = model;
        this.bound = bound;
        this.adapterName = adapterName;
        this.config = config;
    }

    static PeftAdapter<PeftConfig> untyped(PeftAdapter<?> a) {
        return new PeftAdapter<>(a.model, a.bound, a.config, a.adapterName);
    }

    public PeftModel model() {
        return model;
    }

    /** The config the adapter was applied or loaded with. */
    public C config() {
        return config;
    }

    public String adapterName() {
        return adapterName;
    }

    /** e.g. {@code LORA}. */
    public String peftType() {
        return config.peftType();
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} to {@code dir}, as HF PEFT does. */
    public void save(Path dir) throws IOException {
        save(bound, dir);
    }

    private <T extends PeftConfig> void save(Bound<T> b, Path dir) throws IOException {
        b.strategy.save(model, b.current(model, adapterName), adapterName, dir);
    }

    /** Folds the adapter into the base weights and removes what the method added; returns the plain model. */
    public PeftModel mergeAndUnload() {
        mergeAndUnload(bound);
        return model;
    }

    private <T extends PeftConfig> void mergeAndUnload(Bound<T> b) {
        b.strategy.mergeAndUnload(model, b.current(model, adapterName), adapterName);
    }

    @Override
    public String toString() {
        return "PeftAdapter(" + peftType() + " '" + adapterName + "' on " + model.architecture() + ")";
    }
}

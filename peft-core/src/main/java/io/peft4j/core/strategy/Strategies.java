package io.peft4j.core.strategy;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The strategies on the classpath, by {@code peft_type}. */
public final class Strategies {
    private Strategies() {}

    /** All strategies found by the service loader, by type. */
    @SuppressWarnings("rawtypes")
    public static Map<String, PeftStrategy<?>> available() {
        Map<String, PeftStrategy<?>> out = new TreeMap<>();
        for (PeftStrategy s : ServiceLoader.load(PeftStrategy.class, Strategies.class.getClassLoader())) {
            out.put(s.type(), s);
        }
        return out;
    }

    /** The strategy for a {@code peft_type}, or an exception listing those that are available. */
    public static PeftStrategy<?> forType(String peftType) {
        Map<String, PeftStrategy<?>> all = available();
        PeftStrategy<?> s = all.get(peftType);
        if (s == null) {
            throw new IllegalArgumentException("No strategy for peft_type '" + peftType + "' on the classpath; available: "
                    + all.keySet() + ". Add the peft4j module that provides it (e.g. peft-lora for LORA).");
        }
        return s;
    }

    /** The strategy that takes this config: its {@code peft_type}'s, checked to accept the config's class. */
    public static <C extends PeftConfig> PeftStrategy<C> forConfig(C config) {
        PeftStrategy<?> s = forType(config.peftType());
        if (!s.configType().isInstance(config)) {
            throw new IllegalArgumentException("The " + config.peftType() + " strategy " + s.getClass().getName() + " takes "
                    + s.configType().getName() + ", not " + config.getClass().getName());
        }
        @SuppressWarnings("unchecked") // checked just above: the strategy accepts this config's class
        PeftStrategy<C> typed = (PeftStrategy<C>) s;
        return typed;
    }
}

package io.peft4j.core.data;

import java.util.Locale;

/** Which end of a sequence padding goes to or truncation cuts from (transformers' {@code "left"} / {@code "right"}). */
public enum Side {
    LEFT, RIGHT;

    /** {@code "left"} or {@code "right"}, as tokenizer_config.json and the command line write it. */
    public static Side of(String name) {
        for (Side s : values()) {
            if (s.name().equalsIgnoreCase(name.strip())) {
                return s;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a side; expected 'left' or 'right'");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package io.peft4j.lora;

import java.util.Locale;

/** Which biases train (and are saved) with a LoRA adapter, as HF PEFT's {@code bias} option. */
public enum LoraBias {
    /** No bias trains. */
    NONE,
    /** Every bias of the model trains. */
    ALL,
    /** Only the biases of the layers LoRA wraps train. */
    LORA_ONLY;

    public String json() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static LoraBias fromJson(String s) {
        for (LoraBias b : values()) {
            if (b.json().equals(s)) {
                return b;
            }
        }
        throw new IllegalArgumentException("bias must be one of 'none', 'all', 'lora_only'; got '" + s + "'");
    }
}

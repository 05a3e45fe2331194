package io.peft4j.core.tuner;

/**
 * How HF PEFT names an adapter's tensors in {@code adapter_model.safetensors}: the module path under
 * {@code base_model.model.} (PeftModel.base_model is the tuner, whose .model is the transformers
 * model), with the adapter's name taken out ({@code lora_A.default.weight -> lora_A.weight}).
 */
public final class HfKeys {
    /** The prefix of every saved key of a non-prompt-learning adapter. */
    public static final String PREFIX = "base_model.model.";

    private HfKeys() {}

    /** {@code encoder.layer.0.x -> base_model.model.encoder.layer.0.x}. */
    public static String saved(String treeName) {
        return PREFIX + treeName;
    }

    /** The in-model name of a saved key, or null when the key lacks HF PEFT's prefix. */
    public static String treeName(String savedKey) {
        return savedKey.startsWith(PREFIX) ? savedKey.substring(PREFIX.length()) : null;
    }

    /** Takes the adapter's name out of a parameter path as HF PEFT's {@code get_peft_model_state_dict} does. */
    public static String withoutAdapter(String relative, String adapter) {
        String mid = "." + adapter;
        if (relative.endsWith(mid)) {
            return relative.substring(0, relative.length() - mid.length());
        }
        return relative.replace(mid + ".", ".");
    }
}

package io.peft4j.core.tuner;

import io.peft4j.core.PeftModel;

import java.util.List;

/**
 * The modules a method targets when its config names none, as HF PEFT's
 * {@code TRANSFORMERS_MODELS_TO_<METHOD>_TARGET_MODULES_MAPPING}: the model's family knows them. The
 * one place every method asks.
 */
public final class TargetDefaults {
    private TargetDefaults() {}

    /** The default targets of {@code peftType} on this model, or an exception saying to set target_modules. */
    public static List<String> of(PeftModel model, String peftType) {
        List<String> out;
        try {
            out = model.family().defaultTargetModules(peftType);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(peftType + " config has no target_modules: " + e.getMessage(), e);
        }
        if (out == null || out.isEmpty()) {
            throw new IllegalArgumentException(peftType + " config has no target_modules and there is no default for "
                    + model.architecture() + "; set target_modules");
        }
        return out;
    }
}

package io.peft4j.core.tuner;

import io.peft4j.core.PeftModel;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The modules a method targets when its config names none, per model type, as HF PEFT's
 * {@code TRANSFORMERS_MODELS_TO_<METHOD>_TARGET_MODULES_MAPPING}. The one place every method asks, so
 * that the answer can come from the model family.
 */
public final class TargetDefaults {
    /** By peft_type, then model type. */
    private static final Map<String, Map<String, List<String>>> DEFAULTS = Map.of(
            "LORA", Map.of("bert", List.of("query", "value")));

    private TargetDefaults() {}

    /** The default targets of {@code peftType} on this model, or an exception saying to set target_modules. */
    public static List<String> of(PeftModel model, String peftType) {
        List<String> out = DEFAULTS.getOrDefault(peftType, Map.of()).get(modelType(model));
        if (out == null) {
            throw new IllegalArgumentException(peftType + " config has no target_modules and there is no default for "
                    + model.architecture() + "; set target_modules");
        }
        return out;
    }

    /** transformers' {@code model_type} from the architecture's class name ({@code BertForSequenceClassification -> bert}). */
    private static String modelType(PeftModel model) {
        String arch = model.architecture().toLowerCase(Locale.ROOT);
        return arch.startsWith("bert") ? "bert" : arch;
    }
}

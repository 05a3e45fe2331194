package io.peft4j.core.testing;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.NamedParameter;

import java.util.LinkedHashMap;
import java.util.Map;

/** Host copies of a model's parameters by name, to compare models before and after an operation. */
public final class Weights {
    private Weights() {}

    public static Map<String, float[]> snapshot(PeftModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (NamedParameter p : m.namedParameters()) {
            out.put(p.name(), p.parameter().getArray().toFloatArray());
        }
        return out;
    }
}

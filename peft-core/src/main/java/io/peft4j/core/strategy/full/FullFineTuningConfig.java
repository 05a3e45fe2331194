package io.peft4j.core.strategy.full;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.strategy.PeftConfig;

/** Full fine-tuning: every parameter trains. The baseline every PEFT method is measured against. */
public final class FullFineTuningConfig implements PeftConfig {
    public static final String TYPE = "FULL";

    @Override
    public String peftType() {
        return TYPE;
    }

    @Override
    public ObjectNode toJson() {
        return new ObjectMapper().createObjectNode().put("peft_type", TYPE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FullFineTuningConfig;
    }

    @Override
    public int hashCode() {
        return TYPE.hashCode();
    }

    @Override
    public String toString() {
        return "FullFineTuningConfig";
    }
}

package io.peft4j.core.strategy;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An immutable strategy configuration whose JSON form is the saved {@code adapter_config.json}
 * (HF PEFT's format where HF PEFT has the method). {@link #peftType()} is written as
 * {@code peft_type} and selects the strategy when the adapter is loaded again.
 */
public interface PeftConfig {
    /** e.g. {@code LORA}, {@code FREEZE}, {@code FULL}. */
    String peftType();

    /** The JSON written to {@code adapter_config.json}, including {@code peft_type}. */
    ObjectNode toJson();
}

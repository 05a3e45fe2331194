package io.peft4j.toy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.TunerConfig;

import java.util.Set;

/**
 * The toy method's {@code adapter_config.json}: HF PEFT's shared tuner fields under {@code peft_type}
 * {@code TOY_DELTA}, nothing of its own. Written only against peft-core's public API (with
 * {@link ToyDeltaStrategy}, {@link ToyDeltaLayer} and {@link PhaseSwitch}), to show that a strategy
 * outside {@code io.peft4j.core} needs no package-private access.
 */
public final class ToyDeltaConfig extends TunerConfig {
    public static final String PEFT_TYPE = "TOY_DELTA";

    private ToyDeltaConfig(Builder b) {
        super(b);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads a saved config strictly (a wrong type names the field). */
    public static ToyDeltaConfig fromJson(JsonNode json) {
        Builder b = new Builder();
        readCommon(json, PEFT_TYPE, "toy delta config", Set.of(), b);
        return b.build();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        // The method has no fields beyond the shared ones.
    }

    public static final class Builder extends TunerConfig.Builder<ToyDeltaConfig, Builder> {
        @Override
        protected Builder self() {
            return this;
        }

        @Override
        public ToyDeltaConfig build() {
            return new ToyDeltaConfig(this);
        }
    }
}

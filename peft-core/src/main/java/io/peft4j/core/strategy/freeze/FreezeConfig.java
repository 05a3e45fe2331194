package io.peft4j.core.strategy.freeze;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.select.Selector;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Train only what is selected, freeze the rest: modules by name or suffix ({@code modules_to_train},
 * matched as HF PEFT matches {@code modules_to_save}) and whole transformer layers by index
 * ({@code layers_to_train}, optionally under {@code layers_pattern}).
 */
public final class FreezeConfig implements PeftConfig {
    public static final String TYPE = "FREEZE";

    private final List<String> modulesToTrain;
    private final List<Integer> layersToTrain;
    private final String layersPattern;

    private FreezeConfig(Builder b) {
        this.modulesToTrain = List.copyOf(b.modulesToTrain);
        this.layersToTrain = List.copyOf(b.layersToTrain);
        this.layersPattern = b.layersPattern;
        if (modulesToTrain.isEmpty() && layersToTrain.isEmpty()) {
            throw new IllegalArgumentException("FreezeConfig selects nothing: give modules_to_train or layers_to_train");
        }
        for (int i : layersToTrain) {
            if (i < 0) {
                throw new IllegalArgumentException("layers_to_train holds " + i + ", expected indices >= 0");
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public List<String> modulesToTrain() {
        return modulesToTrain;
    }

    public List<Integer> layersToTrain() {
        return layersToTrain;
    }

    public String layersPattern() {
        return layersPattern;
    }

    /** The parameters this config trains, as a selector. */
    public Selector selector() {
        Selector modules = modulesToTrain.isEmpty() ? Selector.none() : Selector.within(Selector.suffix(modulesToTrain));
        Selector layers = layersToTrain.isEmpty() ? Selector.none() : Selector.layerIn(layersToTrain, layersPattern);
        return modules.or(layers);
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("peft_type", TYPE);
        ArrayNode m = n.putArray("modules_to_train");
        modulesToTrain.forEach(m::add);
        ArrayNode l = n.putArray("layers_to_train");
        layersToTrain.forEach(l::add);
        if (layersPattern == null) {
            n.putNull("layers_pattern");
        } else {
            n.put("layers_pattern", layersPattern);
        }
        return n;
    }

    /** Reads the saved form; a field of the wrong type is an error naming it. */
    static FreezeConfig fromJson(JsonNode json) {
        ConfigJson j = ConfigJson.of(json, "freeze config");
        Builder b = builder();
        List<String> modules = j.stringList("modules_to_train");
        if (modules != null) {
            b.modulesToTrain.addAll(modules);
        }
        List<Integer> layers = j.intOrList("layers_to_train");
        if (layers != null) {
            b.layersToTrain.addAll(layers);
        }
        b.layersPattern(j.text("layers_pattern"));
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof FreezeConfig)) {
            return false;
        }
        FreezeConfig c = (FreezeConfig) o;
        return modulesToTrain.equals(c.modulesToTrain) && layersToTrain.equals(c.layersToTrain)
                && Objects.equals(layersPattern, c.layersPattern);
    }

    @Override
    public int hashCode() {
        return Objects.hash(modulesToTrain, layersToTrain, layersPattern);
    }

    @Override
    public String toString() {
        return "FreezeConfig" + toJson();
    }

    public static final class Builder {
        private final List<String> modulesToTrain = new ArrayList<>();
        private final List<Integer> layersToTrain = new ArrayList<>();
        private String layersPattern;

        /** Modules trained in full, by exact name or suffix, e.g. {@code classifier}. */
        public Builder modulesToTrain(String... names) {
            modulesToTrain.addAll(List.of(names));
            return this;
        }

        public Builder layersToTrain(Integer... indices) {
            layersToTrain.addAll(List.of(indices));
            return this;
        }

        /** The last {@code n} of {@code numLayers} transformer layers. */
        public Builder lastLayers(int n, int numLayers) {
            if (n < 0 || n > numLayers) {
                throw new IllegalArgumentException("lastLayers n=" + n + " must be in [0, " + numLayers + "]");
            }
            for (int i = numLayers - n; i < numLayers; i++) {
                layersToTrain.add(i);
            }
            return this;
        }

        public Builder layersPattern(String pattern) {
            this.layersPattern = pattern;
            return this;
        }

        public FreezeConfig build() {
            return new FreezeConfig(this);
        }
    }
}

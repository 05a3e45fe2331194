package io.peft4j.adapters.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;
import io.peft4j.core.tuner.TunerConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * HF PEFT's {@code IA3Config}: {@code feedforward_modules} (targets scaled on their input, a list or a
 * regex), {@code fan_in_fan_out} and {@code init_ia3_weights}, beside the fields every tuner config has.
 * Immutable; build with {@link #builder()} or read with {@link #fromJson}.
 */
public final class Ia3Config extends TunerConfig {
    public static final String TYPE = "IA3";
    private static final Set<String> OWN = Set.of("feedforward_modules", "fan_in_fan_out", "init_ia3_weights");

    private final List<String> feedforwardModules;
    private final String feedforwardModulesRegex;
    private final boolean fanInFanOut;
    private final boolean initIa3Weights;

    private Ia3Config(Builder b) {
        super(b);
        this.feedforwardModules = b.feedforwardModules == null ? null : List.copyOf(b.feedforwardModules);
        this.feedforwardModulesRegex = b.feedforwardModulesRegex;
        this.fanInFanOut = b.fanInFanOut;
        this.initIa3Weights = b.initIa3Weights;
        if (feedforwardModulesRegex != null) {
            try {
                Pattern.compile(feedforwardModulesRegex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("IA3Config feedforward_modules is not a valid regex: " + e.getMessage(), e);
            }
        }
        // HF PEFT's __post_init__ check, applied when both are lists.
        if (feedforwardModules != null && targetModules() != null && !targetModules().containsAll(feedforwardModules)) {
            throw new IllegalArgumentException("IA3Config feedforward_modules " + feedforwardModules
                    + " should be a subset of target_modules " + targetModules());
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    /** Targets scaled on their input ({@code [1, in]}), by name suffix; null when a regex or not set. */
    public List<String> feedforwardModules() {
        return feedforwardModules;
    }

    public String feedforwardModulesRegex() {
        return feedforwardModulesRegex;
    }

    /** True when neither a list nor a regex is given: the model family's default applies. */
    public boolean feedforwardModulesUnset() {
        return feedforwardModules == null && feedforwardModulesRegex == null;
    }

    /**
     * Whether a target module is feed-forward, as HF PEFT's {@code _check_target_module_feedforward}:
     * a regex must match the whole name; a list entry matches any name ending with it (no dot
     * boundary, so BERT's {@code output.dense} covers {@code attention.output.dense} too, as in HF PEFT).
     */
    public boolean isFeedforward(String moduleName) {
        if (feedforwardModulesRegex != null) {
            return Pattern.matches(feedforwardModulesRegex, moduleName);
        }
        if (feedforwardModules == null) {
            return false;
        }
        for (String f : feedforwardModules) {
            if (moduleName.endsWith(f)) {
                return true;
            }
        }
        return false;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** True (the default): every scale starts at 1, so the adapted model starts equal to the base. */
    public boolean initIa3Weights() {
        return initIa3Weights;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        if (feedforwardModulesRegex != null) {
            json.put("feedforward_modules", feedforwardModulesRegex);
        } else if (feedforwardModules == null) {
            json.putNull("feedforward_modules");
        } else {
            ArrayNode a = json.putArray("feedforward_modules");
            feedforwardModules.forEach(a::add);
        }
        json.put("fan_in_fan_out", fanInFanOut);
        json.put("init_ia3_weights", initIa3Weights);
    }

    /** Reads HF PEFT's {@code adapter_config.json} for IA3; wrong types are refused with the field's name. */
    public static Ia3Config fromJson(JsonNode json) {
        Builder b = builder();
        ConfigJson j = readCommon(json, TYPE, "IA3 config", OWN, b);
        if (j.isText("feedforward_modules")) {
            b.feedforwardModulesRegex(j.text("feedforward_modules"));
        } else {
            List<String> ff = j.stringList("feedforward_modules");
            b.feedforwardModules = ff == null ? null : new ArrayList<>(ff);
        }
        b.fanInFanOut = j.boolField("fan_in_fan_out", false);
        b.initIa3Weights = j.boolField("init_ia3_weights", true);
        return b.build();
    }

    public Builder toBuilder() {
        Builder b = builder();
        copyCommonTo(b);
        b.feedforwardModules = feedforwardModules == null ? null : new ArrayList<>(feedforwardModules);
        b.feedforwardModulesRegex = feedforwardModulesRegex;
        b.fanInFanOut = fanInFanOut;
        b.initIa3Weights = initIa3Weights;
        return b;
    }

    public static final class Builder extends TunerConfig.Builder<Ia3Config, Builder> {
        private List<String> feedforwardModules;
        private String feedforwardModulesRegex;
        private boolean fanInFanOut;
        private boolean initIa3Weights = true;

        @Override
        protected Builder self() {
            return this;
        }

        /** Targets scaled on their input, by name suffix; must be among the target modules. */
        public Builder feedforwardModules(String... names) {
            this.feedforwardModules = List.of(names);
            this.feedforwardModulesRegex = null;
            return this;
        }

        public Builder feedforwardModulesRegex(String regex) {
            this.feedforwardModulesRegex = regex;
            this.feedforwardModules = null;
            return this;
        }

        /** Recorded for HF PEFT (GPT-2's Conv1D); peft4j's layers know their own weight layout. */
        public Builder fanInFanOut(boolean on) {
            this.fanInFanOut = on;
            return this;
        }

        public Builder initIa3Weights(boolean on) {
            this.initIa3Weights = on;
            return this;
        }

        @Override
        public Ia3Config build() {
            return new Ia3Config(this);
        }
    }
}

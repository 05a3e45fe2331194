package io.peft4j.sparse.spiel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;
import io.peft4j.core.tuner.TunerConfig;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * SpIEL's configuration (Ansell et al. 2024, "Scaling Sparse Fine-Tuning to Large Language Models"),
 * with the field names of the reference implementation's {@code SftConfig} (AlanAnsell/peft,
 * {@code tuners/sft/config.py}): {@code density} (fraction of the targeted weights that train, 0.01),
 * or {@code num_tunable_weights} (a count, overriding the density), {@code selection_algorithm}
 * ({@code rigl}: SpIEL-AG, regrowth by accumulated gradient; {@code sm3}: SpIEL-MA, regrowth by SM3
 * row/column accumulators), {@code reselection_steps} (20), {@code selection_accumulation_steps} (5)
 * and {@code initial_reselection_rate} (0.2). {@code seed} (peft4j's) fixes the initial random
 * positions and the candidates. Targets follow {@link TunerConfig}; none given means every linear
 * layer outside {@code modules_to_save} and the output head.
 */
public final class SpielConfig extends TunerConfig {
    public static final String TYPE = "SPIEL";

    /** How inactive positions are ranked for regrowth. */
    public enum SelectionAlgorithm {
        /** SpIEL-AG: gradient magnitude of candidate positions, accumulated over a few steps. */
        RIGL("rigl"),
        /** SpIEL-MA: SM3-style row and column accumulators of the squared gradients. */
        SM3("sm3");

        private final String json;

        SelectionAlgorithm(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }

        static SelectionAlgorithm fromJson(String s) {
            for (SelectionAlgorithm a : values()) {
                if (a.json.equals(s.toLowerCase(Locale.ROOT))) {
                    return a;
                }
            }
            throw new IllegalArgumentException("SpIEL config selection_algorithm is '" + s + "', expected 'rigl' or 'sm3'");
        }
    }

    private static final Set<String> OWN = Set.of("density", "num_tunable_weights", "selection_algorithm",
            "reselection_steps", "selection_accumulation_steps", "initial_reselection_rate", "seed");

    private final float density;
    private final Long numTunableWeights;
    private final SelectionAlgorithm selectionAlgorithm;
    private final int reselectionSteps;
    private final int selectionAccumulationSteps;
    private final float initialReselectionRate;
    private final long seed;

    private SpielConfig(Builder b) {
        super(b);
        this.density = b.density;
        this.numTunableWeights = b.numTunableWeights;
        this.selectionAlgorithm = Objects.requireNonNull(b.selectionAlgorithm, "selection_algorithm");
        this.reselectionSteps = b.reselectionSteps;
        this.selectionAccumulationSteps = b.selectionAccumulationSteps;
        this.initialReselectionRate = b.initialReselectionRate;
        this.seed = b.seed;
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("SpIEL config density is " + density + ", expected a fraction in (0, 1]");
        }
        if (numTunableWeights != null && numTunableWeights < 1) {
            throw new IllegalArgumentException("SpIEL config num_tunable_weights is " + numTunableWeights
                    + ", expected a count >= 1");
        }
        if (reselectionSteps < 1) {
            throw new IllegalArgumentException("SpIEL config reselection_steps is " + reselectionSteps + ", expected >= 1");
        }
        if (selectionAccumulationSteps < 1 || selectionAccumulationSteps > reselectionSteps) {
            throw new IllegalArgumentException("SpIEL config selection_accumulation_steps is " + selectionAccumulationSteps
                    + ", expected 1.." + reselectionSteps + " (reselection_steps)");
        }
        if (!(initialReselectionRate >= 0 && initialReselectionRate <= 1)) {
            throw new IllegalArgumentException("SpIEL config initial_reselection_rate is " + initialReselectionRate
                    + ", expected a fraction in [0, 1]");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    public float density() {
        return density;
    }

    /** The total number of trained weights, or null to use {@link #density()}. */
    public Long numTunableWeights() {
        return numTunableWeights;
    }

    public SelectionAlgorithm selectionAlgorithm() {
        return selectionAlgorithm;
    }

    public int reselectionSteps() {
        return reselectionSteps;
    }

    public int selectionAccumulationSteps() {
        return selectionAccumulationSteps;
    }

    public float initialReselectionRate() {
        return initialReselectionRate;
    }

    public long seed() {
        return seed;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        copyCommonTo(b);
        b.density = density;
        b.numTunableWeights = numTunableWeights;
        b.selectionAlgorithm = selectionAlgorithm;
        b.reselectionSteps = reselectionSteps;
        b.selectionAccumulationSteps = selectionAccumulationSteps;
        b.initialReselectionRate = initialReselectionRate;
        b.seed = seed;
        return b;
    }

    @Override
    protected void writeFields(ObjectNode n) {
        n.put("density", density);
        n.put("initial_reselection_rate", initialReselectionRate);
        if (numTunableWeights == null) {
            n.putNull("num_tunable_weights");
        } else {
            n.put("num_tunable_weights", numTunableWeights);
        }
        n.put("reselection_steps", reselectionSteps);
        n.put("seed", seed);
        n.put("selection_accumulation_steps", selectionAccumulationSteps);
        n.put("selection_algorithm", selectionAlgorithm.json());
    }

    /** Reads {@code adapter_config.json}; wrong types and out-of-range values are errors naming the field. */
    public static SpielConfig fromJson(JsonNode json) {
        Builder b = builder();
        ConfigJson j = readCommon(json, TYPE, "SpIEL config", OWN, b);
        b.density = j.floatField("density", 0.01f);
        JsonNode count = json.get("num_tunable_weights");
        if (count != null && !count.isNull()) {
            if (!count.canConvertToLong() || !count.isIntegralNumber()) {
                throw new IllegalArgumentException("SpIEL config num_tunable_weights must be an integer, got " + count);
            }
            b.numTunableWeights = count.longValue();
        }
        String algorithm = j.text("selection_algorithm");
        b.selectionAlgorithm = algorithm == null ? SelectionAlgorithm.RIGL : SelectionAlgorithm.fromJson(algorithm);
        b.reselectionSteps = j.intField("reselection_steps", 20);
        b.selectionAccumulationSteps = j.intField("selection_accumulation_steps", 5);
        b.initialReselectionRate = j.floatField("initial_reselection_rate", 0.2f);
        JsonNode seed = json.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber()) {
                throw new IllegalArgumentException("SpIEL config seed must be an integer, got " + seed);
            }
            b.seed = seed.longValue();
        }
        return b.build();
    }

    public static final class Builder extends TunerConfig.Builder<SpielConfig, Builder> {
        private float density = 0.01f;
        private Long numTunableWeights;
        private SelectionAlgorithm selectionAlgorithm = SelectionAlgorithm.RIGL;
        private int reselectionSteps = 20;
        private int selectionAccumulationSteps = 5;
        private float initialReselectionRate = 0.2f;
        private long seed = 42;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        public Builder density(float density) {
            this.density = density;
            return this;
        }

        public Builder numTunableWeights(Long count) {
            this.numTunableWeights = count;
            return this;
        }

        public Builder selectionAlgorithm(SelectionAlgorithm algorithm) {
            this.selectionAlgorithm = algorithm;
            return this;
        }

        public Builder reselectionSteps(int steps) {
            this.reselectionSteps = steps;
            return this;
        }

        public Builder selectionAccumulationSteps(int steps) {
            this.selectionAccumulationSteps = steps;
            return this;
        }

        public Builder initialReselectionRate(float rate) {
            this.initialReselectionRate = rate;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        @Override
        public SpielConfig build() {
            return new SpielConfig(this);
        }
    }
}

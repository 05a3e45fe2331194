package io.peft4j.sparse.ltsft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.nn.ModuleTree;
import io.peft4j.core.select.Selector;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Lottery-Ticket Sparse Fine-Tuning (Ansell et al. 2022, "Composable Sparse Fine-Tuning for
 * Cross-Lingual Transfer"): full fine-tuning, then the {@code K} entries that moved most
 * ({@code |θ1 − θ0|}) among the maskable parameters are kept, the model reset to {@code θ0} and
 * trained again with only those entries free. HF PEFT has no LT-SFT; {@code peft_type} is {@code LT_SFT}.
 *
 * <p>{@code K} is a count ({@code num_tunable}) or a fraction of the maskable elements
 * ({@code density}), exactly one of them. Maskable are the parameters inside
 * {@code maskable_modules} (module paths or suffixes), by default everything inside the family's base
 * model; every other parameter (a task head) trains in full in both phases and is stored densely beside
 * the sparse differences. {@code l1_reg} &gt; 0 adds {@code l1_reg * sign(θ − θ0)} to the selected
 * entries' gradients, the L1 pull toward {@code θ0} of the paper.
 */
public final class LtSftConfig implements PeftConfig {
    public static final String TYPE = "LT_SFT";
    private static final Set<String> FIELDS = Set.of("peft_type", "num_tunable", "density", "maskable_modules", "l1_reg",
            "base_model_name_or_path");

    private final long numTunable;
    private final double density;
    private final List<String> maskableModules;
    private final float l1Reg;
    private final String baseModelName;

    private LtSftConfig(Builder b) {
        if ((b.numTunable >= 0) == (b.density >= 0)) {
            throw new IllegalArgumentException("LT-SFT config: give exactly one of num_tunable (a count) and density"
                    + " (a fraction), got num_tunable=" + b.numTunable + ", density=" + b.density);
        }
        if (b.density > 1) {
            throw new IllegalArgumentException("LT-SFT config: density must be in [0, 1], got " + b.density);
        }
        if (!(b.l1Reg >= 0)) {
            throw new IllegalArgumentException("LT-SFT config: l1_reg must be >= 0, got " + b.l1Reg);
        }
        this.numTunable = b.numTunable;
        this.density = b.density;
        this.maskableModules = b.maskableModules == null ? null : List.copyOf(b.maskableModules);
        this.l1Reg = b.l1Reg;
        this.baseModelName = b.baseModelName;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** K as a count, or -1 when {@link #density()} gives it. */
    public long numTunable() {
        return numTunable;
    }

    /** K as a fraction of the maskable elements, or -1 when {@link #numTunable()} gives it. */
    public double density() {
        return density;
    }

    /** Module paths or suffixes whose parameters are maskable; null for the family's whole base model. */
    public List<String> maskableModules() {
        return maskableModules;
    }

    public float l1Reg() {
        return l1Reg;
    }

    public String baseModelName() {
        return baseModelName;
    }

    /** The maskable parameters of {@code model} as a selector. */
    public Selector maskable(ModuleTree model, ModelFamily family) {
        if (maskableModules != null) {
            return Selector.within(Selector.suffix(maskableModules));
        }
        String base = family.basePath(model);
        return base.isEmpty() ? Selector.all() : Selector.within(Selector.exact(base));
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("peft_type", TYPE);
        if (baseModelName == null) {
            n.putNull("base_model_name_or_path");
        } else {
            n.put("base_model_name_or_path", baseModelName);
        }
        if (density >= 0) {
            n.put("density", density);
        } else {
            n.putNull("density");
        }
        n.put("l1_reg", l1Reg);
        if (maskableModules == null) {
            n.putNull("maskable_modules");
        } else {
            ArrayNode a = n.putArray("maskable_modules");
            maskableModules.forEach(a::add);
        }
        if (numTunable >= 0) {
            n.put("num_tunable", numTunable);
        } else {
            n.putNull("num_tunable");
        }
        return n;
    }

    /** Reads the saved form; a wrong type or an unknown field is an error naming it. */
    public static LtSftConfig fromJson(JsonNode json) {
        ConfigJson j = ConfigJson.of(json, "LT-SFT config");
        String type = j.text("peft_type");
        if (type != null && !TYPE.equals(type)) {
            throw new IllegalArgumentException("LT-SFT config: peft_type is '" + type + "', expected '" + TYPE + "'");
        }
        ObjectNode unknown = j.unknownFields(FIELDS);
        if (unknown.size() > 0) {
            throw new IllegalArgumentException("LT-SFT config: unknown field '" + unknown.fieldNames().next()
                    + "'; LT-SFT reads " + new java.util.TreeSet<>(FIELDS));
        }
        Builder b = builder();
        JsonNode k = json.get("num_tunable");
        if (k != null && !k.isNull()) {
            if (!k.isIntegralNumber()) {
                throw new IllegalArgumentException("LT-SFT config: field 'num_tunable' must be an integer, got " + k);
            }
            b.numTunable(k.longValue());
        }
        JsonNode d = json.get("density");
        if (d != null && !d.isNull()) {
            if (!d.isNumber()) {
                throw new IllegalArgumentException("LT-SFT config: field 'density' must be a number, got " + d);
            }
            b.density(d.doubleValue());
        }
        return b.maskableModules(j.stringList("maskable_modules")).l1Reg(j.floatField("l1_reg", 0f))
                .baseModelName(j.text("base_model_name_or_path")).build();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LtSftConfig)) {
            return false;
        }
        LtSftConfig c = (LtSftConfig) o;
        return numTunable == c.numTunable && Double.compare(density, c.density) == 0 && l1Reg == c.l1Reg
                && Objects.equals(maskableModules, c.maskableModules) && Objects.equals(baseModelName, c.baseModelName);
    }

    @Override
    public int hashCode() {
        return Objects.hash(numTunable, density, maskableModules, l1Reg, baseModelName);
    }

    @Override
    public String toString() {
        return "LtSftConfig" + toJson();
    }

    public static final class Builder {
        private long numTunable = -1;
        private double density = -1;
        private List<String> maskableModules;
        private float l1Reg;
        private String baseModelName;

        public Builder numTunable(long k) {
            if (k < 0) {
                throw new IllegalArgumentException("LT-SFT num_tunable must be >= 0, got " + k);
            }
            this.numTunable = k;
            return this;
        }

        public Builder density(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) {
                throw new IllegalArgumentException("LT-SFT density must be in [0, 1], got " + fraction);
            }
            this.density = fraction;
            return this;
        }

        public Builder maskableModules(List<String> modules) {
            this.maskableModules = modules;
            return this;
        }

        public Builder maskableModules(String... modules) {
            return maskableModules(List.of(modules));
        }

        public Builder l1Reg(float l1) {
            this.l1Reg = l1;
            return this;
        }

        public Builder baseModelName(String name) {
            this.baseModelName = name;
            return this;
        }

        public LtSftConfig build() {
            return new LtSftConfig(this);
        }
    }
}

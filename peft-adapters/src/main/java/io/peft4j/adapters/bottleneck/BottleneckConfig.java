package io.peft4j.adapters.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;
import io.peft4j.core.tuner.TunerConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A bottleneck adapter (Houlsby et al. 2019; Pfeiffer et al. 2020) with the options and names of
 * AdapterHub's {@code BnConfig}: where adapters sit ({@code mh_adapter} after the attention output,
 * {@code output_adapter} after the feed-forward output), {@code reduction_factor} (bottleneck size =
 * hidden size / factor), {@code non_linearity}, the placement of the model's own layer norm and residual
 * ({@code original_ln_before}, {@code original_ln_after}, {@code residual_before_ln}), new layer norms
 * ({@code ln_before}, {@code ln_after}, {@code adapter_residual_before_ln}), {@code init_weights},
 * {@code scaling}, {@code dropout} and {@code leave_out}. Saved by peft4j with {@code peft_type}
 * {@code BOTTLENECK} beside the fields every tuner config has ({@code modules_to_save}, {@code task_type}).
 * {@link #seqBn()} is Pfeiffer's architecture, {@link #doubleSeqBn()} Houlsby's.
 *
 * <p>AdapterHub options that change what an adapter computes and that peft4j does not implement
 * (parallel adapters, gating, PHM layers, invertible adapters, learned scaling, per-layer reduction
 * factors) are refused when set, so an adapter never loads with a silently different meaning.
 */
public final class BottleneckConfig extends TunerConfig {
    public static final String TYPE = "BOTTLENECK";
    /** AdapterHub's {@code architecture} value for these adapters. */
    public static final String ARCHITECTURE = "bottleneck";

    static final Set<String> OWN = Set.of("mh_adapter", "output_adapter", "reduction_factor", "non_linearity",
            "original_ln_before", "original_ln_after", "ln_before", "ln_after", "init_weights", "scaling",
            "residual_before_ln", "adapter_residual_before_ln", "dropout", "leave_out", "architecture", "is_parallel",
            "use_gating", "phm_layer", "inv_adapter", "inv_adapter_reduction_factor", "cross_adapter",
            "stochastic_depth", "phm_dim", "factorized_phm_W", "shared_W_phm", "shared_phm_rule", "factorized_phm_rule",
            "phm_c_init", "phm_init_range", "learn_phm", "hypercomplex_nonlinearity", "phm_rank", "phm_bias");

    private final boolean mhAdapter;
    private final boolean outputAdapter;
    private final double reductionFactor;
    private final NonLinearity nonLinearity;
    private final boolean originalLnBefore;
    private final boolean originalLnAfter;
    private final boolean lnBefore;
    private final boolean lnAfter;
    private final BottleneckInit initWeights;
    private final float scaling;
    private final boolean residualBeforeLn;
    private final boolean adapterResidualBeforeLn;
    private final float dropout;
    private final List<Integer> leaveOut;

    private BottleneckConfig(Builder b) {
        super(b);
        this.mhAdapter = b.mhAdapter;
        this.outputAdapter = b.outputAdapter;
        this.reductionFactor = b.reductionFactor;
        this.nonLinearity = b.nonLinearity;
        this.originalLnBefore = b.originalLnBefore;
        this.originalLnAfter = b.originalLnAfter;
        this.lnBefore = b.lnBefore;
        this.lnAfter = b.lnAfter;
        this.initWeights = b.initWeights;
        this.scaling = b.scaling;
        this.residualBeforeLn = b.residualBeforeLn;
        this.adapterResidualBeforeLn = b.adapterResidualBeforeLn;
        this.dropout = b.dropout;
        this.leaveOut = List.copyOf(b.leaveOut);
        if (!mhAdapter && !outputAdapter) {
            throw new IllegalArgumentException("BottleneckConfig: mh_adapter and output_adapter are both false, so no"
                    + " adapter would be added; set at least one");
        }
        if (!(reductionFactor > 0) || Double.isInfinite(reductionFactor)) {
            throw new IllegalArgumentException("BottleneckConfig reduction_factor must be a number > 0, got " + reductionFactor);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("BottleneckConfig dropout must be in [0, 1), got " + dropout);
        }
        if (!Float.isFinite(scaling)) {
            throw new IllegalArgumentException("BottleneckConfig scaling must be a finite number, got " + scaling);
        }
        for (int i : leaveOut) {
            if (i < 0) {
                throw new IllegalArgumentException("BottleneckConfig leave_out holds " + i + ", expected layer indices >= 0");
            }
        }
        if (targetModules() != null || targetModulesRegex() != null || excludeModules() != null
                || excludeModulesRegex() != null || layersToTransform() != null) {
            throw new IllegalArgumentException("BottleneckConfig places adapters by mh_adapter/output_adapter and skips layers"
                    + " by leave_out; target_modules, exclude_modules and layers_to_transform must not be set");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Pfeiffer et al. (2020), AdapterHub's {@code SeqBnConfig}: after the feed-forward output only, relu. */
    public static Builder seqBn() {
        return new Builder().mhAdapter(false).outputAdapter(true).originalLnBefore(true).nonLinearity(NonLinearity.RELU);
    }

    /** Houlsby et al. (2019), AdapterHub's {@code DoubleSeqBnConfig}: after attention and feed-forward outputs, swish. */
    public static Builder doubleSeqBn() {
        return new Builder().mhAdapter(true).outputAdapter(true).originalLnBefore(false).nonLinearity(NonLinearity.SWISH);
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    /** An adapter after the attention output ({@code attention.output}). */
    public boolean mhAdapter() {
        return mhAdapter;
    }

    /** An adapter after the feed-forward output ({@code output}). */
    public boolean outputAdapter() {
        return outputAdapter;
    }

    public double reductionFactor() {
        return reductionFactor;
    }

    /** AdapterHub's size: {@code int(hidden // reduction_factor)}, at least 1. */
    public int bottleneckSize(long hidden) {
        return (int) Math.max(1, Math.floor(hidden / reductionFactor));
    }

    public NonLinearity nonLinearity() {
        return nonLinearity;
    }

    public boolean originalLnBefore() {
        return originalLnBefore;
    }

    public boolean originalLnAfter() {
        return originalLnAfter;
    }

    public boolean lnBefore() {
        return lnBefore;
    }

    public boolean lnAfter() {
        return lnAfter;
    }

    public BottleneckInit initWeights() {
        return initWeights;
    }

    public float scaling() {
        return scaling;
    }

    public boolean residualBeforeLn() {
        return residualBeforeLn;
    }

    public boolean adapterResidualBeforeLn() {
        return adapterResidualBeforeLn;
    }

    public float dropout() {
        return dropout;
    }

    /** Layer indices that get no adapter. */
    public List<Integer> leaveOut() {
        return leaveOut;
    }

    @Override
    protected void writeFields(ObjectNode json) {
        writeAdapterHubFields(json);
    }

    /** The fields under AdapterHub's names, as its {@code BnConfig.to_dict()} writes those peft4j implements. */
    void writeAdapterHubFields(ObjectNode json) {
        json.put("architecture", ARCHITECTURE);
        json.put("mh_adapter", mhAdapter);
        json.put("output_adapter", outputAdapter);
        if (reductionFactor == Math.rint(reductionFactor)) {
            json.put("reduction_factor", (long) reductionFactor);
        } else {
            json.put("reduction_factor", reductionFactor);
        }
        json.put("non_linearity", nonLinearity.jsonName());
        json.put("original_ln_before", originalLnBefore);
        json.put("original_ln_after", originalLnAfter);
        json.put("ln_before", lnBefore);
        json.put("ln_after", lnAfter);
        json.put("init_weights", initWeights.jsonName());
        json.put("scaling", scaling);
        json.put("residual_before_ln", residualBeforeLn);
        json.put("adapter_residual_before_ln", adapterResidualBeforeLn);
        json.put("dropout", dropout);
        ArrayNode a = json.putArray("leave_out");
        leaveOut.forEach(a::add);
        json.put("is_parallel", false);
        json.put("use_gating", false);
        json.put("phm_layer", false);
        json.putNull("inv_adapter");
    }

    /** peft4j's {@code adapter_config.json} for a bottleneck adapter. */
    public static BottleneckConfig fromJson(JsonNode json) {
        Builder b = builder();
        ConfigJson j = readCommon(json, TYPE, "bottleneck adapter config", OWN, b);
        readAdapterHubFields(j, b, "bottleneck adapter config");
        return b.build();
    }

    /**
     * Reads the fields of AdapterHub's {@code BnConfig} (the nested {@code config} of its saved
     * {@code adapter_config.json}); options peft4j does not implement are refused unless at their default.
     */
    static void readAdapterHubFields(ConfigJson j, Builder b, String what) {
        String arch = j.text("architecture");
        if (arch != null && !arch.equals(ARCHITECTURE)) {
            throw new IllegalArgumentException(what + ": architecture is '" + arch + "', expected '" + ARCHITECTURE + "'");
        }
        if (!j.has("mh_adapter") || !j.has("output_adapter")) {
            throw new IllegalArgumentException(what + ": mh_adapter and output_adapter are required (AdapterHub's BnConfig)");
        }
        b.mhAdapter = j.boolField("mh_adapter", false);
        b.outputAdapter = j.boolField("output_adapter", true);
        JsonNode rf = j.node().get("reduction_factor");
        if (rf != null && !rf.isNull()) {
            if (!rf.isNumber()) {
                throw new IllegalArgumentException(what + ": reduction_factor must be a number; per-layer mappings ("
                        + rf + ") are not supported");
            }
            b.reductionFactor = rf.doubleValue();
        }
        String nl = j.text("non_linearity");
        if (nl != null) {
            b.nonLinearity = NonLinearity.fromJson(nl);
        }
        b.originalLnBefore = j.boolField("original_ln_before", false);
        b.originalLnAfter = j.boolField("original_ln_after", true);
        b.lnBefore = j.boolField("ln_before", false);
        b.lnAfter = j.boolField("ln_after", false);
        String init = j.text("init_weights");
        if (init != null) {
            b.initWeights = BottleneckInit.fromJson(init);
        }
        JsonNode scaling = j.node().get("scaling");
        if (scaling != null && !scaling.isNull() && !scaling.isNumber()) {
            throw new IllegalArgumentException(what + ": scaling '" + scaling.asText() + "' is not supported; only a"
                    + " constant number (learned and channel scalings are not)");
        }
        b.scaling = j.floatField("scaling", 1f);
        JsonNode rbl = j.node().get("residual_before_ln");
        if (rbl != null && !rbl.isNull() && !rbl.isBoolean()) {
            throw new IllegalArgumentException(what + ": residual_before_ln '" + rbl.asText() + "' is not supported;"
                    + " expected true or false");
        }
        b.residualBeforeLn = j.boolField("residual_before_ln", true);
        b.adapterResidualBeforeLn = j.boolField("adapter_residual_before_ln", false);
        b.dropout = j.floatField("dropout", 0f);
        List<Integer> leave = j.intOrList("leave_out");
        b.leaveOut = leave == null ? new ArrayList<>() : new ArrayList<>(leave);
        refuse(j, what, "is_parallel", "parallel adapters (ParBnConfig)");
        refuse(j, what, "use_gating", "gating");
        refuse(j, what, "phm_layer", "PHM layers (Compacter)");
        if (j.text("inv_adapter") != null) {
            throw new IllegalArgumentException(what + ": inv_adapter '" + j.text("inv_adapter")
                    + "' is not supported (invertible adapters)");
        }
        if (j.floatField("stochastic_depth", 0f) != 0f) {
            throw new IllegalArgumentException(what + ": stochastic_depth > 0 is not supported");
        }
    }

    private static void refuse(ConfigJson j, String what, String field, String feature) {
        if (j.boolField(field, false)) {
            throw new IllegalArgumentException(what + ": " + field + " true is not supported (" + feature + ")");
        }
    }

    public Builder toBuilder() {
        Builder b = builder();
        copyCommonTo(b);
        b.mhAdapter = mhAdapter;
        b.outputAdapter = outputAdapter;
        b.reductionFactor = reductionFactor;
        b.nonLinearity = nonLinearity;
        b.originalLnBefore = originalLnBefore;
        b.originalLnAfter = originalLnAfter;
        b.lnBefore = lnBefore;
        b.lnAfter = lnAfter;
        b.initWeights = initWeights;
        b.scaling = scaling;
        b.residualBeforeLn = residualBeforeLn;
        b.adapterResidualBeforeLn = adapterResidualBeforeLn;
        b.dropout = dropout;
        b.leaveOut = new ArrayList<>(leaveOut);
        return b;
    }

    /** Defaults are AdapterHub's {@code BnConfig} defaults with Pfeiffer's placement ({@link #seqBn()}). */
    public static final class Builder extends TunerConfig.Builder<BottleneckConfig, Builder> {
        private boolean mhAdapter;
        private boolean outputAdapter = true;
        private double reductionFactor = 16;
        private NonLinearity nonLinearity = NonLinearity.RELU;
        private boolean originalLnBefore = true;
        private boolean originalLnAfter = true;
        private boolean lnBefore;
        private boolean lnAfter;
        private BottleneckInit initWeights = BottleneckInit.BERT;
        private float scaling = 1f;
        private boolean residualBeforeLn = true;
        private boolean adapterResidualBeforeLn;
        private float dropout;
        private List<Integer> leaveOut = new ArrayList<>();

        @Override
        protected Builder self() {
            return this;
        }

        public Builder mhAdapter(boolean on) {
            this.mhAdapter = on;
            return this;
        }

        public Builder outputAdapter(boolean on) {
            this.outputAdapter = on;
            return this;
        }

        public Builder reductionFactor(double factor) {
            this.reductionFactor = factor;
            return this;
        }

        public Builder nonLinearity(NonLinearity f) {
            this.nonLinearity = f;
            return this;
        }

        public Builder originalLnBefore(boolean on) {
            this.originalLnBefore = on;
            return this;
        }

        public Builder originalLnAfter(boolean on) {
            this.originalLnAfter = on;
            return this;
        }

        public Builder lnBefore(boolean on) {
            this.lnBefore = on;
            return this;
        }

        public Builder lnAfter(boolean on) {
            this.lnAfter = on;
            return this;
        }

        public Builder initWeights(BottleneckInit init) {
            this.initWeights = init;
            return this;
        }

        public Builder scaling(float scaling) {
            this.scaling = scaling;
            return this;
        }

        public Builder residualBeforeLn(boolean on) {
            this.residualBeforeLn = on;
            return this;
        }

        public Builder adapterResidualBeforeLn(boolean on) {
            this.adapterResidualBeforeLn = on;
            return this;
        }

        public Builder dropout(float p) {
            this.dropout = p;
            return this;
        }

        public Builder leaveOut(Integer... layers) {
            this.leaveOut = new ArrayList<>(List.of(layers));
            return this;
        }

        @Override
        public BottleneckConfig build() {
            return new BottleneckConfig(this);
        }
    }
}

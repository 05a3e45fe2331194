package io.peft4j.lora;

/** The numbers one adapter uses in one layer: rank, alpha, the scaling they give, dropout, DoRA. */
public final class AdapterSettings {
    private final int r;
    private final float alpha;
    private final float scaling;
    private final float dropout;
    private final boolean dora;

    AdapterSettings(int r, float alpha, boolean rslora, float dropout, boolean dora) {
        this(r, alpha, LoraConfig.scaling(alpha, r, rslora), dropout, dora);
    }

    AdapterSettings(int r, float alpha, float scaling, float dropout, boolean dora) {
        this.r = r;
        this.alpha = alpha;
        this.scaling = scaling;
        this.dropout = dropout;
        this.dora = dora;
    }

    public int r() {
        return r;
    }

    public float alpha() {
        return alpha;
    }

    /** The factor on {@code B A}: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public float scaling() {
        return scaling;
    }

    public float dropout() {
        return dropout;
    }

    public boolean dora() {
        return dora;
    }

    @Override
    public String toString() {
        return "r=" + r + ", alpha=" + alpha + ", scaling=" + scaling + ", dropout=" + dropout + (dora ? ", DoRA" : "");
    }
}

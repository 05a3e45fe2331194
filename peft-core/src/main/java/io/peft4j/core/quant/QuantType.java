package io.peft4j.core.quant;

/** How a weight is quantized. */
public enum QuantType {
    /**
     * 4-bit NormalFloat (QLoRA): 16 values at quantiles of N(0, 1), scaled to [-1, 1], with an exact
     * zero; blocks of {@code blockSize} weights each scaled by their absolute maximum.
     */
    NF4("nf4"),
    /** bitsandbytes' 4-bit float (1 sign, 2 exponent, 1 mantissa bit), block-wise like NF4. */
    FP4("fp4"),
    /** LLM.int8()-style: one absmax scale per output row, values rounded to [-127, 127], no outlier split. */
    INT8("int8");

    private final String bnbName;

    QuantType(String bnbName) {
        this.bnbName = bnbName;
    }

    /** The name bitsandbytes uses ({@code quant_type} in its quant state). */
    public String bnbName() {
        return bnbName;
    }

    public boolean isFourBit() {
        return this != INT8;
    }

    /** The 4-bit type of a bitsandbytes name, or an exception naming the accepted ones. */
    public static QuantType ofBnbName(String name) {
        for (QuantType t : values()) {
            if (t.isFourBit() && t.bnbName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("Unknown 4-bit quant_type '" + name + "'; expected nf4 or fp4");
    }
}

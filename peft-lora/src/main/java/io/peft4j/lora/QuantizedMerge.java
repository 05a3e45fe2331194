package io.peft4j.lora;

/** What merging does to a quantized base layer (QLoRA). */
public enum QuantizedMerge {
    /** Dequantize, add the update, quantize again: the model stays quantized, with extra rounding error. */
    REQUANTIZE,
    /** Dequantize and add the update: float32 weights, exact up to the base's own quantization. */
    DEQUANTIZE
}

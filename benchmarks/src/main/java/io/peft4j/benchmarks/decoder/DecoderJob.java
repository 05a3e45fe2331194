package io.peft4j.benchmarks.decoder;

import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.lora.LoraConfig;

/** What one child JVM of the decoder benchmark measures: a training method, or generation. */
enum DecoderJob {
    LORA("LoRA r=8 (q_proj, v_proj)"),
    QLORA("QLoRA r=8 (all-linear, NF4 + double quant)"),
    FULL("full fine-tuning (float32, AdamW)"),
    GENERATE("greedy generation");

    final String label;

    DecoderJob(String label) {
        this.label = label;
    }

    boolean trains() {
        return this != GENERATE;
    }

    /** The adapter this job trains; HF PEFT's settings for causal LMs, alpha 2r. */
    PeftConfig peftConfig() {
        switch (this) {
            case LORA:
                return LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj").taskType("CAUSAL_LM").build();
            case QLORA:
                return LoraConfig.builder().r(8).loraAlpha(16).allLinear().quantization(QuantizationConfig.nf4())
                        .taskType("CAUSAL_LM").build();
            case FULL:
                return new FullFineTuningConfig();
            default:
                throw new IllegalStateException(this + " trains nothing");
        }
    }
}

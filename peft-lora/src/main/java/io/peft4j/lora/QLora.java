package io.peft4j.lora;

import io.peft4j.core.PeftModel;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * QLoRA (Dettmers et al. 2023): quantize the model's linear layers (NF4 with double quantization by
 * default) and put LoRA adapters on them. The adapters, their config and their files are LoRA's;
 * only the frozen base is stored in 4 bits and dequantized on the fly.
 */
public final class QLora {
    private QLora() {}

    /**
     * Quantizes every linear layer except the {@code modules_to_save} (e.g. a fresh classifier, which
     * trains in full and so must stay float32) and those the quantization config skips, then applies
     * {@code lora} as the adapter "default".
     */
    public static LoraModel wrap(PeftModel model, LoraConfig lora, QuantizationConfig quantization) {
        if (lora.initLoraWeights() == InitLoraWeights.PISSA) {
            throw new IllegalArgumentException("init_lora_weights 'pissa' rewrites the base weights, which QLoRA "
                    + "quantizes; apply PiSSA before quantizing");
        }
        // Every error the LoRA config can cause on this model is raised before anything is quantized.
        LoraPlan.of(model, lora, "default");
        List<String> keep = new ArrayList<>(quantization.skipModules());
        keep.addAll(LoraPlan.modulesToSaveNames(lora));
        ModelQuantizer.quantizeLinears(model, quantization.toBuilder().skipModules(keep).build());
        return LoraModel.wrap(model, lora);
    }

    /** QLoRA with NF4, blocks of 64, double quantization and float32 compute. */
    public static LoraModel wrap(PeftModel model, LoraConfig lora) {
        return wrap(model, lora, QuantizationConfig.nf4());
    }
}

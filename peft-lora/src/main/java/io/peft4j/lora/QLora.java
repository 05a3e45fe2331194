package io.peft4j.lora;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.core.tuner.ModulesToSave;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * QLoRA (Dettmers et al. 2023): quantize the model's linear layers (NF4 with double quantization by
 * default) and put LoRA adapters on them. The adapters and their files are LoRA's; the config also
 * records the base's quantization ({@code quantization_config}), so that loading the adapter onto a
 * float base quantizes it the same way first, whichever loader is used.
 */
public final class QLora {
    private static final Logger LOG = LoggerFactory.getLogger(QLora.class);

    private QLora() {}

    /**
     * Quantizes every linear layer except the {@code modules_to_save} (e.g. a fresh classifier, which
     * trains in full and so must stay float32) and those the quantization config skips, then applies
     * {@code lora} (recording {@code quantization}) as the adapter "default".
     */
    public static LoraModel wrap(PeftModel model, LoraConfig lora, QuantizationConfig quantization) {
        LoraConfig recorded = lora.toBuilder().quantization(quantization).build();
        // Every error the LoRA config can cause on this model is raised before anything is quantized.
        LoraPlan.of(model, recorded);
        return LoraModel.wrap(model, recorded);
    }

    /** QLoRA with NF4, blocks of 64, double quantization and float32 compute. */
    public static LoraModel wrap(PeftModel model, LoraConfig lora) {
        return wrap(model, lora, QuantizationConfig.nf4());
    }

    /**
     * Loads a LoRA adapter onto a base quantized as the adapter's config records it, or as
     * {@code fallback} says when it records nothing (adapters saved by HF PEFT, which keeps the
     * quantization in the base model's config.json instead).
     */
    public static LoraModel load(PeftModel model, Path dir, QuantizationConfig fallback, boolean trainable)
            throws IOException {
        LoraModel lora = LoraModel.of(model);
        lora.loadAdapter(dir, LoraModel.DEFAULT_ADAPTER, trainable, fallback);
        return lora;
    }

    /** {@link #load(PeftModel, Path, QuantizationConfig, boolean)} with NF4 as the fallback. */
    public static LoraModel load(PeftModel model, Path dir, boolean trainable) throws IOException {
        return load(model, dir, QuantizationConfig.nf4(), trainable);
    }

    /**
     * When the plan's config records a quantized base and the model's linear layers are still float,
     * quantizes them as recorded (all but modules_to_save and the skipped ones) and plans again.
     */
    static LoraPlan quantizeIfRecorded(PeftModel model, LoraPlan plan) {
        QuantizationConfig q = plan.config.quantization();
        boolean floatTargets = plan.targets.stream().anyMatch(t -> t.module instanceof Linear || t.module instanceof Conv1D);
        if (q == null || !floatTargets) {
            return plan;
        }
        if (plan.config.initLoraWeights() == InitLoraWeights.PISSA) {
            throw new IllegalArgumentException("init_lora_weights 'pissa' rewrites the base weights, which QLoRA "
                    + "quantizes; apply PiSSA before quantizing");
        }
        boolean wrapped = model.namedModules().values().stream().anyMatch(m -> m instanceof AdapterLayer);
        if (wrapped) {
            LOG.warn("The LoRA config records a {} base, but this model already carries adapters on float layers; "
                    + "leaving the base in float32", q);
            return plan;
        }
        LOG.info("The adapter was trained on a quantized base ({}): quantizing this model's linear layers the same way", q);
        List<String> keep = new ArrayList<>(q.skipModules());
        keep.addAll(ModulesToSave.names(plan.config));
        ModelQuantizer.quantizeLinears(model, q.toBuilder().skipModules(keep).build());
        return LoraPlan.of(model, plan.config);
    }
}

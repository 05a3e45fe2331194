package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.nio.file.Path;

/** Builds GPT-2 causal LMs ({@code GPT2LMHeadModel}) from transformers directories: the entry point for loading one. */
public final class Gpt2 {
    private static final Gpt2Family FAMILY = new Gpt2Family();

    private Gpt2() {}

    /**
     * A {@code GPT2LMHeadModel} with every weight from the directory, every tensor checked against
     * {@code config.json} before the model is built; the head tied to {@code transformer.wte}.
     */
    public static PeftModel causalLm(Path dir, String baseModelName) throws IOException {
        return causalLm(Gpt2Checkpoint.read(dir), baseModelName);
    }

    /**
     * As {@link #causalLm(Path, String)}, with the frozen layer weights ({@code Conv1D} projections and
     * embeddings) held in {@code options.frozenWeights()}. Quantizing at load is refused: GPT-2's
     * projections are {@code Conv1D} layers, which peft4j's quantizer (linear layers) does not take.
     */
    public static PeftModel causalLm(Path dir, String baseModelName, DecoderLoadOptions options) throws IOException {
        return causalLm(Gpt2Checkpoint.read(dir), baseModelName, options);
    }

    public static PeftModel causalLm(Gpt2Checkpoint ckpt, String baseModelName) {
        return causalLm(ckpt, baseModelName, DecoderLoadOptions.defaults());
    }

    public static PeftModel causalLm(Gpt2Checkpoint ckpt, String baseModelName, DecoderLoadOptions options) {
        if (options.quantization() != null) {
            throw new IllegalArgumentException(ckpt.source() + ": " + options + " asks to quantize, but GPT-2's projections"
                    + " are Conv1D layers, which peft4j does not quantize; load GPT-2 with FLOAT32 or FLOAT16 weights");
        }
        NDManager manager = Compute.newManager();
        try {
            GPT2LMHeadModel model = new GPT2LMHeadModel(ckpt.config());
            PeftModel tree = new PeftModel(model, manager, baseModelName, Gpt2Config.ARCHITECTURE, FAMILY);
            WeightLoader.load(tree, ckpt.tensors(), "", ckpt.source(), name -> false, options.frozenWeights(),
                    (path, module) -> { });
            if (ckpt.config().tieWordEmbeddings()) {
                model.tieWeights();
            }
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** A model of this config with transformers' initialization (normal(0, 0.02), norms at one), for tests and benchmarks. */
    public static PeftModel randomCausalLm(Gpt2Config config, String name) {
        NDManager manager = Compute.newManager();
        try {
            GPT2LMHeadModel model = new GPT2LMHeadModel(config);
            PeftModel tree = new PeftModel(model, manager, name, Gpt2Config.ARCHITECTURE, FAMILY);
            tree.initializeMissing();
            if (config.tieWordEmbeddings()) {
                model.tieWeights();
            }
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }
}

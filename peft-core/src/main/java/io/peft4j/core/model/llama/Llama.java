package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.nio.file.Path;

/** Builds Llama-family causal LMs from transformers directories: the entry point for loading one. */
public final class Llama {
    private static final LlamaFamily FAMILY = new LlamaFamily();

    private Llama() {}

    /**
     * A {@code LlamaForCausalLM} (or Mistral's, Qwen2's) with every weight from the directory, every
     * tensor checked against {@code config.json} before the model is built; the head tied to the
     * embedding when the config says so.
     */
    public static PeftModel causalLm(Path dir, String baseModelName) throws IOException {
        return causalLm(LlamaCheckpoint.read(dir), baseModelName);
    }

    public static PeftModel causalLm(LlamaCheckpoint ckpt, String baseModelName) {
        NDManager manager = Compute.newManager();
        try {
            LlamaForCausalLM model = new LlamaForCausalLM(ckpt.config());
            PeftModel tree = new PeftModel(model, manager, baseModelName, ckpt.config().architecture(), FAMILY);
            WeightLoader.load(tree, ckpt.tensors(), "", ckpt.source(), name -> false);
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
    public static PeftModel randomCausalLm(LlamaConfig config, String name) {
        NDManager manager = Compute.newManager();
        try {
            LlamaForCausalLM model = new LlamaForCausalLM(config);
            PeftModel tree = new PeftModel(model, manager, name, config.architecture(), FAMILY);
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

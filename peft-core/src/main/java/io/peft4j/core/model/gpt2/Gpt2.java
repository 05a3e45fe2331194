package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
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

    public static PeftModel causalLm(Gpt2Checkpoint ckpt, String baseModelName) {
        NDManager manager = Compute.newManager();
        try {
            GPT2LMHeadModel model = new GPT2LMHeadModel(ckpt.config());
            PeftModel tree = new PeftModel(model, manager, baseModelName, Gpt2Config.ARCHITECTURE, FAMILY);
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

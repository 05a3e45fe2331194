package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.quant.BnbCheckpoint;
import io.peft4j.core.quant.ModelQuantizer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** Builds Llama-family causal LMs from transformers directories: the entry point for loading one. */
public final class Llama {
    private static final Logger LOG = LoggerFactory.getLogger(Llama.class);
    private static final LlamaFamily FAMILY = new LlamaFamily();
    /** transformers' bitsandbytes integration keeps the output head in float; so does peft4j. */
    private static final String HEAD = "lm_head";

    private Llama() {}

    /**
     * A {@code LlamaForCausalLM} (or Mistral's, Qwen2's) with every weight from the directory, every
     * tensor checked against {@code config.json} before the model is built; the head tied to the
     * embedding when the config says so. Float32, float16 and bfloat16 files load into float32 weights.
     */
    public static PeftModel causalLm(Path dir, String baseModelName) throws IOException {
        return causalLm(LlamaCheckpoint.read(dir), baseModelName, DecoderLoadOptions.defaults());
    }

    /** As {@link #causalLm(Path, String)}, holding the weights as {@code options} say (float16, 4-bit). */
    public static PeftModel causalLm(Path dir, String baseModelName, DecoderLoadOptions options) throws IOException {
        return causalLm(LlamaCheckpoint.read(dir), baseModelName, options);
    }

    public static PeftModel causalLm(LlamaCheckpoint ckpt, String baseModelName) {
        return causalLm(ckpt, baseModelName, DecoderLoadOptions.defaults());
    }

    /**
     * Builds the model from a checked checkpoint, each tensor converted once into the dtype it is held in.
     * A checkpoint saved by bitsandbytes (4-bit) gets quantized layers made from its tensors; otherwise,
     * when {@code options} ask for quantization, every linear layer but {@code lm_head} is quantized as
     * soon as it is read, so the float32 copy of one layer at most exists at any time.
     */
    public static PeftModel causalLm(LlamaCheckpoint ckpt, String baseModelName, DecoderLoadOptions options) {
        NDManager manager = Compute.newManager();
        try {
            LlamaForCausalLM model = new LlamaForCausalLM(ckpt.config());
            PeftModel tree = new PeftModel(model, manager, baseModelName, ckpt.config().architecture(), FAMILY);
            Map<String, Tensor> rest = ckpt.tensors();
            BiConsumer<String, Module> loaded = (path, module) -> { };
            List<String> quantized = new ArrayList<>();
            if (ckpt.quantization() != null) {
                if (options.quantization() != null) {
                    LOG.info("{} is saved quantized ({}): loaded as saved, not as {}", ckpt.source(), ckpt.quantization(),
                            options.quantization());
                }
                rest = BnbCheckpoint.install(tree, rest, "", ckpt.source(), DataType.FLOAT32);
            } else if (options.quantization() != null) {
                loaded = ModelQuantizer.whileLoading(tree, options.quantization(), path -> !path.equals(HEAD), quantized);
            }
            WeightLoader.load(tree, rest, "", ckpt.source(), name -> false, options.frozenWeights(), loaded);
            if (ckpt.config().tieWordEmbeddings()) {
                model.tieWeights();
            }
            if (!quantized.isEmpty()) {
                LOG.info("{}: quantized {} linear layers while loading ({})", ckpt.source(), quantized.size(), options.quantization());
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

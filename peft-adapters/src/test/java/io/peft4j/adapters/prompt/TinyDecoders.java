package io.peft4j.adapters.prompt;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.model.llama.LlamaConfig;
import io.peft4j.core.task.CausalLanguageModeling;

/** Small random decoders for the prompt-method tests: a grouped-query Llama and a GPT-2. */
final class TinyDecoders {
    static final int VOCAB = 40;

    private TinyDecoders() {}

    /** hidden 32, 4 query heads, 2 key/value heads of width 8, 2 layers. */
    static LlamaConfig llamaConfig() {
        return LlamaConfig.builder().vocabSize(VOCAB).hiddenSize(32).intermediateSize(48).numHiddenLayers(2)
                .numAttentionHeads(4).numKeyValueHeads(2).headDim(8).maxPositionEmbeddings(64).build();
    }

    static PeftModel llama(long seed) {
        Compute.seed(seed);
        return Llama.randomCausalLm(llamaConfig(), "tiny-llama");
    }

    static Gpt2Config gpt2Config(int width, int layers, int heads) {
        return Gpt2Config.builder().vocabSize(VOCAB).nPositions(64).nEmbd(width).nLayer(layers).nHead(heads).build();
    }

    static PeftModel gpt2(long seed, int width, int layers, int heads) {
        Compute.seed(seed);
        return Gpt2.randomCausalLm(gpt2Config(width, layers, heads), "tiny-gpt2");
    }

    static NDArray ids(NDManager m, long[][] ids) {
        return m.create(ids);
    }

    /** The causal-LM loss of a batch (labels = ids), backward run; gradients stay on the parameters. */
    static float lossAndBackward(PeftModel model, NDManager step, long[][] ids) {
        NDArray x = step.create(ids);
        Batch batch = Batch.builder(ids.length).put(Batch.INPUT_IDS, x).put(Batch.LABELS, x).build();
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = new CausalLanguageModeling().loss(model, batch, true);
            gc.backward(loss);
            return loss.getFloat();
        }
    }

    static float[] hidden(PeftModel model, NDManager step, ForwardContext ctx) {
        return model.forward(ctx, false).lastHiddenState().toFloatArray();
    }
}

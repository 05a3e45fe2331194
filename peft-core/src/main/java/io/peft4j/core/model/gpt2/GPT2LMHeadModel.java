package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.llama.TiedLmHead;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * transformers' {@code GPT2LMHeadModel}: {@code transformer} and {@code lm_head}, the head tied to
 * {@code transformer.wte.weight} (one parameter, registered by {@link #tieWeights()} after loading) unless
 * {@code tie_word_embeddings} is false. {@link #forward} returns {@code last_hidden_state};
 * {@link #logits} adds {@code logits}.
 */
public class GPT2LMHeadModel extends Module implements CausalLanguageModel {
    private final Gpt2Config config;

    public GPT2LMHeadModel(Gpt2Config config) {
        this.config = config;
        registerModule("transformer", new Gpt2Model(config));
        if (!config.tieWordEmbeddings()) {
            registerModule("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false));
        }
    }

    public Gpt2Config config() {
        return config;
    }

    /** Registers {@code lm_head} on the embedding's current parameter, as transformers' {@code tie_weights}. */
    public void tieWeights() {
        if (!config.tieWordEmbeddings()) {
            throw new IllegalStateException("tie_word_embeddings is false: lm_head has its own weight");
        }
        if (child("lm_head") != null) {
            throw new IllegalStateException("lm_head is already tied");
        }
        registerModule("lm_head", new TiedLmHead(child("transformer").child("wte").parameters().get("weight")));
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training) {
        return ((Gpt2Model) child("transformer")).forward(ps, context, training);
    }

    /** {@code last_hidden_state} and {@code logits [B, T, vocab]}. */
    public ModelOutput logits(ParameterStore ps, ForwardContext context, boolean training) {
        NDArray hidden = forward(ps, context, training).lastHiddenState();
        return ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, hidden)
                .put(ModelOutput.LOGITS, lmHead(ps, hidden, training)).build();
    }

    @Override
    public NDArray lmHead(ParameterStore ps, NDArray hidden, boolean training) {
        Module head = child("lm_head");
        if (head == null) {
            throw new IllegalStateException("lm_head is not tied yet: call tieWeights() after loading");
        }
        return call(head, ps, hidden, training);
    }

    @Override
    public long hiddenSize() {
        return config.hiddenSize();
    }

    /** Positional form: {@code input_ids[, attention_mask]} to logits. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ForwardContext.Builder ctx = ForwardContext.builder().inputIds(inputs.get(0));
        if (inputs.size() > 1) {
            ctx.attentionMask(inputs.get(1));
        }
        return new NDList(logits(ps, ctx.build(), training).logits());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.vocabSize())};
    }
}

package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.llama.TiedLmHead;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * A decoder with an output head, as transformers' {@code *ForCausalLM} / {@code *LMHeadModel}: the base
 * model (registered under the family's name, e.g. {@code model} or {@code transformer}) and
 * {@code lm_head}, either its own {@code Linear} or, with {@code tie_word_embeddings}, tied to the input
 * embedding by {@link #tieWeights()} after loading. {@link #forward} returns {@code last_hidden_state}
 * (the loss applies the head a chunk at a time); {@link #logits} adds {@code logits} for generation.
 *
 * @param <C> the family's config
 */
public abstract class DecoderLmHeadModel<C extends ModelConfig> extends Module implements CausalLanguageModel {
    private final C config;
    private final String baseName;
    private final String embeddingName;
    private final boolean tied;

    /**
     * @param baseName the base model's module name ({@code model}, {@code transformer})
     * @param embeddingName the input embedding's name inside the base ({@code embed_tokens}, {@code wte})
     * @param tieWordEmbeddings the config's {@code tie_word_embeddings}: no own head is built when true
     */
    protected DecoderLmHeadModel(C config, String baseName, Module base, String embeddingName, boolean tieWordEmbeddings) {
        if (!(base instanceof ContextModel)) {
            throw new IllegalArgumentException(baseName + ": the base model must take a ForwardContext (ContextModel), got "
                    + base.getClass().getName());
        }
        this.config = config;
        this.baseName = baseName;
        this.embeddingName = embeddingName;
        this.tied = tieWordEmbeddings;
        registerModule(baseName, base);
        if (!tieWordEmbeddings) {
            registerModule("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false));
        }
    }

    public C config() {
        return config;
    }

    /**
     * Registers {@code lm_head} on the embedding's current parameter, as transformers' {@code tie_weights};
     * called once the embedding holds its array (loading replaces parameter objects).
     */
    public void tieWeights() {
        if (!tied) {
            throw new IllegalStateException("tie_word_embeddings is false: lm_head has its own weight");
        }
        if (child("lm_head") != null) {
            throw new IllegalStateException("lm_head is already tied");
        }
        Parameter embedding = child(baseName).child(embeddingName).parameters().get("weight");
        registerModule("lm_head", new TiedLmHead(embedding));
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training) {
        return ((ContextModel) child(baseName)).forward(ps, context, training);
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

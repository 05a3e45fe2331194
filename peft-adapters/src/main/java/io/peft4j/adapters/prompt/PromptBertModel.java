package io.peft4j.adapters.prompt;

import ai.djl.training.ParameterStore;

import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.bert.BertModel;
import io.peft4j.core.nn.Module;

/** A {@link BertModel} (BERT, RoBERTa, XLM-R) with prompt tuning or P-tuning adapters; see {@link PromptHost}. */
final class PromptBertModel extends BertModel implements PromptHost {
    private final BertModel original;
    private final PromptAdapters adapters;

    PromptBertModel(BertModel original, PromptAdapters adapters) {
        super(original.config(), original.hasPooler());
        this.original = original;
        this.adapters = adapters;
        for (String name : original.modules().keySet()) {
            replaceChild(name, original.child(name));
        }
        registerModule(PromptAdapters.MODULE_NAME, adapters.encoders());
    }

    static BaseShape shapeOf(BertModel m) {
        var c = m.config();
        return new BaseShape(c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.numAttentionHeads(), c.headDim(), false);
    }

    @Override
    public PromptAdapters adapters() {
        return adapters;
    }

    @Override
    public Module original() {
        return original;
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training, boolean pool) {
        return adapters.forwardEncoder(ps, ctx, training, child("embeddings").child("word_embeddings"),
                c -> super.forward(ps, c, training, pool));
    }
}

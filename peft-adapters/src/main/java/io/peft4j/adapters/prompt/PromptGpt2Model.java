package io.peft4j.adapters.prompt;

import ai.djl.training.ParameterStore;

import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.gpt2.Gpt2Model;
import io.peft4j.core.nn.Module;

/** A {@link Gpt2Model} with prompt-learning adapters; see {@link PromptHost}. */
final class PromptGpt2Model extends Gpt2Model implements PromptHost {
    private final Gpt2Model original;
    private final PromptAdapters adapters;

    PromptGpt2Model(Gpt2Model original, PromptAdapters adapters) {
        super(original.config());
        this.original = original;
        this.adapters = adapters;
        for (String name : original.modules().keySet()) {
            replaceChild(name, original.child(name));
        }
        registerModule(PromptAdapters.MODULE_NAME, adapters.encoders());
    }

    static BaseShape shapeOf(Gpt2Model m) {
        var c = m.config();
        return new BaseShape(c.hiddenSize(), c.numHiddenLayers(), c.nHead(), c.nHead(), c.headDim(), true);
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
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training) {
        return adapters.forwardDecoder(ps, ctx, training, c -> super.forward(ps, c, training));
    }
}

package io.peft4j.adapters.prompt;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.BertModel;
import io.peft4j.core.model.gpt2.Gpt2Model;
import io.peft4j.core.model.llama.LlamaModel;
import io.peft4j.core.nn.Module;

import java.util.List;
import java.util.Map;

/**
 * The prompt-learning adapters (prompt tuning, P-tuning, prefix tuning) of a model, by name, as HF
 * PEFT's {@code PeftModel} manages them: one active at a time ({@link #setAdapter}), all of them off for
 * a while ({@link #disableAdapters}), {@link #deleteAdapter} and {@link #unload}. A view: the state lives
 * in the model. The methods' base model is the root's {@code model} (Llama family), {@code transformer}
 * (GPT-2) or {@code bert} (BERT family classifier) child.
 */
public final class PromptLearning {
    private final PeftModel model;
    private final String path;
    private final PromptHost host;

    private PromptLearning(PeftModel model, String path, PromptHost host) {
        this.model = model;
        this.path = path;
        this.host = host;
    }

    /** The adapters of a model that has at least one; otherwise an error. */
    public static PromptLearning of(PeftModel model) {
        String path = basePath(model);
        Module m = model.module(path);
        if (!(m instanceof PromptHost)) {
            throw new IllegalStateException("The model has no prompt-learning adapter; apply one with Peft.wrap first");
        }
        return new PromptLearning(model, path, (PromptHost) m);
    }

    public List<String> adapterNames() {
        return host.adapters().names();
    }

    public String activeAdapter() {
        return host.adapters().active();
    }

    /** The adapter's config, with the sizes read from the model filled in. */
    public PromptLearningConfig config(String name) {
        return host.adapters().config(name);
    }

    /** Makes {@code name} the adapter the forward uses; which parameters train is left as it is. */
    public void setAdapter(String name) {
        host.adapters().setActive(name);
    }

    /** Runs the base model alone until the handle is closed (HF PEFT's {@code disable_adapter()} context). */
    public AutoCloseable disableAdapters() {
        PromptAdapters adapters = host.adapters();
        boolean before = adapters.disabled();
        adapters.setDisabled(true);
        return () -> adapters.setDisabled(before);
    }

    /** Removes an adapter and its parameters; the last one gone, the base model is put back as it was. */
    public void deleteAdapter(String name) {
        host.adapters().remove(name);
        model.unregisterAdapter(name);
        if (host.adapters().isEmpty()) {
            model.replaceModule(path, host.original());
        }
    }

    /** Removes every prompt-learning adapter: the model is its base again. */
    public void unload() {
        for (String name : adapterNames()) {
            model.unregisterAdapter(name);
        }
        model.replaceModule(path, host.original());
    }

    /** The path of the base module a prompt method enters (a child of the root), or an error naming the root. */
    static String basePath(PeftModel model) {
        for (Map.Entry<String, Module> e : model.root().modules().entrySet()) {
            Module m = e.getValue();
            if (m instanceof PromptHost || m instanceof LlamaModel || m instanceof Gpt2Model || m instanceof BertModel) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("Prompt methods need a Llama-family, GPT-2 or BERT-family base model under the root "
                + "(LlamaForCausalLM.model, GPT2LMHeadModel.transformer, BertForSequenceClassification.bert); this root is "
                + model.root().getClass().getSimpleName() + " with children " + model.root().modules().keySet());
    }

    /** The sizes of the base model at {@link #basePath}. */
    static BaseShape shapeOf(PeftModel model) {
        Module m = model.module(basePath(model));
        if (m instanceof PromptHost) {
            return ((PromptHost) m).adapters().shape();
        }
        if (m instanceof LlamaModel) {
            return PromptLlamaModel.shapeOf((LlamaModel) m);
        }
        if (m instanceof Gpt2Model) {
            return PromptGpt2Model.shapeOf((Gpt2Model) m);
        }
        return PromptBertModel.shapeOf((BertModel) m);
    }

    /** The host at the base path, installed (the base's children moved under it) when there is none yet. */
    static PromptHost installHost(PeftModel model) {
        String path = basePath(model);
        Module m = model.module(path);
        if (m instanceof PromptHost) {
            return (PromptHost) m;
        }
        PromptAdapters adapters = new PromptAdapters(shapeOf(model));
        PromptHost host;
        if (m instanceof LlamaModel) {
            host = new PromptLlamaModel((LlamaModel) m, adapters);
        } else if (m instanceof Gpt2Model) {
            host = new PromptGpt2Model((Gpt2Model) m, adapters);
        } else {
            host = new PromptBertModel((BertModel) m, adapters);
        }
        model.replaceModule(path, (Module) host);
        return host;
    }

    /** The host, or null when the model has no prompt-learning adapter. */
    static PromptHost hostOrNull(PeftModel model) {
        Module m = model.module(basePath(model));
        return m instanceof PromptHost ? (PromptHost) m : null;
    }
}

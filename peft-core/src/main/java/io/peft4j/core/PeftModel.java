package io.peft4j.core;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;

import io.peft4j.core.data.Batch;
import io.peft4j.core.model.ContextModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;
import io.peft4j.core.strategy.PeftConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model under fine-tuning: the module tree, the name of the base it came from (written into saved
 * adapter configs as {@code base_model_name_or_path}), and the adapters applied to it by name.
 */
public class PeftModel extends ModuleTree {
    private final String baseModelName;
    private final String architecture;
    private final ModelFamily family;
    private final Map<String, PeftConfig> adapters = new LinkedHashMap<>();
    private final Map<Class<?>, Object> extensions = new LinkedHashMap<>();

    /** A model whose family is looked up from {@code architecture} on first use of {@link #family()}. */
    public PeftModel(Module root, ai.djl.ndarray.NDManager manager, String baseModelName, String architecture) {
        this(root, manager, baseModelName, architecture, null);
    }

    /** A model built by {@code family} (null: looked up from {@code architecture} when asked). */
    public PeftModel(Module root, ai.djl.ndarray.NDManager manager, String baseModelName, String architecture,
            ModelFamily family) {
        super(root, manager);
        this.baseModelName = baseModelName;
        this.architecture = architecture;
        this.family = family;
    }

    /** e.g. {@code sentence-transformers/all-MiniLM-L6-v2}. */
    public String baseModelName() {
        return baseModelName;
    }

    /** transformers' class name for the root, e.g. {@code BertForSequenceClassification}. */
    public String architecture() {
        return architecture;
    }

    /**
     * The family that knows this model's layers, embeddings, tied weights and default targets; an
     * exception naming the architecture when no family on the classpath builds it.
     */
    public ModelFamily family() {
        return family != null ? family : ModelFamilies.forArchitecture(architecture);
    }

    /** Runs the model on positional inputs; inputs and outputs as the root module documents. */
    public NDList forward(NDList inputs, boolean training) {
        ParameterStore ps = new ParameterStore(manager(), false);
        return root().forward(ps, inputs, training);
    }

    /** Runs the model on named inputs and returns its named outputs (logits, hidden states, ...). */
    public ModelOutput forward(ForwardContext context, boolean training) {
        return contextModel().forward(new ParameterStore(manager(), false), context, training);
    }

    /** Runs the model on a batch's named inputs ({@code input_ids} or {@code inputs_embeds}, masks, positions). */
    public ModelOutput forward(Batch batch, boolean training) {
        return forward(ForwardContext.of(batch), training);
    }

    /** The root as a model that takes named inputs; a root that does not is an error naming its class. */
    public ContextModel contextModel() {
        if (!(root() instanceof ContextModel)) {
            throw new IllegalStateException("The root module " + root().getClass().getName()
                    + " takes positional inputs only; forward(NDList, boolean) runs it");
        }
        return (ContextModel) root();
    }

    /** Records the config of an adapter applied under a name (strategies call this). */
    public void registerAdapter(String name, PeftConfig config) {
        adapters.put(name, config);
    }

    public void unregisterAdapter(String name) {
        adapters.remove(name);
    }

    /** The configs of the applied adapters by name, in application order. */
    public Map<String, PeftConfig> adapters() {
        return Collections.unmodifiableMap(adapters);
    }

    /**
     * Model-level state a strategy keeps beside its layers (e.g. LoRA's per-adapter copies of
     * {@code modules_to_save}), by its class; created on first use. The core never looks inside.
     */
    public <T> T extension(Class<T> type, java.util.function.Supplier<T> create) {
        return type.cast(extensions.computeIfAbsent(type, k -> create.get()));
    }

    /** The extension of that class, or null. */
    public <T> T extensionOrNull(Class<T> type) {
        return type.cast(extensions.get(type));
    }

    public void removeExtension(Class<?> type) {
        extensions.remove(type);
    }
}

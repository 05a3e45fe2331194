package io.peft4j.core;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;

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
    private final Map<String, PeftConfig> adapters = new LinkedHashMap<>();

    public PeftModel(Module root, ai.djl.ndarray.NDManager manager, String baseModelName, String architecture) {
        super(root, manager);
        this.baseModelName = baseModelName;
        this.architecture = architecture;
    }

    /** e.g. {@code sentence-transformers/all-MiniLM-L6-v2}. */
    public String baseModelName() {
        return baseModelName;
    }

    /** transformers' class name for the root, e.g. {@code BertForSequenceClassification}. */
    public String architecture() {
        return architecture;
    }

    /** Runs the model; inputs and outputs as the root module documents. */
    public NDList forward(NDList inputs, boolean training) {
        ParameterStore ps = new ParameterStore(manager(), false);
        return root().forward(ps, inputs, training);
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
}

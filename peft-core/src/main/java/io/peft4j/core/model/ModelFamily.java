package io.peft4j.core.model;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What peft4j knows about one family of transformers architectures (BERT, later Llama, GPT-2 ...):
 * how its {@code config.json} reads, how its module tree is built and filled from a checkpoint, where
 * its layers and embeddings are, which weights are tied, and which modules each PEFT method targets by
 * default. Strategies ask the family instead of guessing from module names.
 *
 * <p>Families are found with {@link java.util.ServiceLoader} (see {@link ModelFamilies}); an
 * implementation has a public no-argument constructor and is listed in
 * {@code META-INF/services/io.peft4j.core.model.ModelFamily}.
 */
public interface ModelFamily {
    /** A short name, e.g. {@code bert}. */
    String name();

    /** The {@code model_type} values of {@code config.json} this family reads. */
    List<String> modelTypes();

    /** The transformers class names of the models this family builds, e.g. {@code BertModel}. */
    List<String> architectures();

    default boolean acceptsModelType(String modelType) {
        return modelTypes().contains(modelType);
    }

    default boolean acceptsArchitecture(String architecture) {
        return architectures().contains(architecture);
    }

    /** Reads a {@code config.json} into the family's config type; errors name the file and the field. */
    ModelConfig parseConfig(Path configJson) throws IOException;

    /** The base model's module tree for a config, parameters declared but not yet filled. */
    Module buildBaseModule(ModelConfig config);

    /** Reads a transformers directory ({@code config.json} + safetensors) into the base model. */
    PeftModel loadBaseModel(Path dir, String baseModelName) throws IOException;

    /**
     * The attribute under which transformers' task models of this config keep the base model
     * ({@code bert} in {@code BertForSequenceClassification}, {@code roberta} for RoBERTa): checkpoint
     * keys of such models start with it and a dot.
     */
    String baseAttribute(ModelConfig config);

    /**
     * A checkpoint's tensors under base-model names: the {@link #baseAttribute} prefix removed, task
     * heads of other models (an MLM head, another classifier) and derived buffers left out.
     */
    Map<String, Tensor> baseModelTensors(ModelConfig config, Map<String, Tensor> checkpointTensors);

    /** Where a tree keeps its base model: {@code ""} for the base model itself, e.g. {@code bert} for a classifier. */
    String basePath(ModuleTree model);

    /** HF PEFT's {@code layers_pattern} for this family: the name of the list holding the layers. */
    String layersPattern();

    /** The transformer layers of a tree, in order. */
    List<TransformerLayer> layers(ModuleTree model);

    /**
     * The modules of {@code layer} by role (attention projections, feed-forward matrices, norms). A family
     * that does not declare them refuses here, naming itself, rather than letting a method guess by name.
     */
    default LayerRoles layerRoles(ModuleTree model, TransformerLayer layer) {
        throw new UnsupportedOperationException("The " + name() + " model family does not declare the roles of its"
                + " layers' modules (attention, feed-forward, norms), which category-level selection (HFT) needs");
    }

    /** Module paths of the embedding tables, the input (token) embeddings first. */
    List<String> embeddings(ModuleTree model);

    /** Module path of the input (token) embeddings. */
    default String inputEmbeddings(ModuleTree model) {
        return embeddings(model).get(0);
    }

    /**
     * Parameter names that share one tensor, each group once: what the family ties by construction
     * merged with what the tree actually shares.
     */
    List<TiedWeights> tiedWeights(ModuleTree model);

    /**
     * The modules a PEFT method targets when its config names none, as HF PEFT's
     * {@code TRANSFORMERS_MODELS_TO_<METHOD>_TARGET_MODULES_MAPPING}; an exception naming the method
     * and the family when HF PEFT has no default either.
     *
     * @param peftType HF PEFT's {@code peft_type}, e.g. {@code LORA}, {@code IA3}
     */
    List<String> defaultTargetModules(String peftType);

    /**
     * For IA3: which of the default targets are feed-forward layers (scaled on their input rather than
     * their output), as HF PEFT's {@code TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING}; empty
     * for methods without the notion.
     */
    List<String> defaultFeedforwardModules(String peftType);

    /**
     * How module paths saved in an adapter map onto {@code target}, e.g. an adapter saved on a bare
     * encoder ({@code encoder.layer.0...}) onto a classifier that keeps it under {@code bert.}; an
     * {@link IllegalArgumentException} with a short message saying which model to load onto otherwise.
     *
     * @param savedModulePaths module paths as saved, after HF PEFT's {@code base_model.model.} prefix
     */
    AdapterKeyMapping adapterKeyMapping(ModuleTree target, Set<String> savedModulePaths);

    /**
     * The dotted path of the first module of {@code type} in the tree ({@code ""} for the root): where
     * a family finds its base model inside whatever task model wraps it.
     */
    static String pathOf(ModuleTree model, Class<? extends Module> type, String familyName) {
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (type.isInstance(e.getValue())) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("Not a " + familyName + " model: no " + type.getSimpleName()
                + " in the tree rooted at " + model.root().getClass().getSimpleName());
    }

    /** The blocks of the layer list at {@code listPath}, by index. */
    static List<TransformerLayer> layersAt(ModuleTree model, String listPath) {
        int n = model.module(listPath).modules().size();
        List<TransformerLayer> out = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new TransformerLayer(i, listPath + "." + i));
        }
        return out;
    }

    /** {@code base.path}, or {@code path} when the base is the root. */
    static String join(String base, String path) {
        return base.isEmpty() ? path : base + "." + path;
    }
}

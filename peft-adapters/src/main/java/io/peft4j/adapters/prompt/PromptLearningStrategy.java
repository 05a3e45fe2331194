package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Module;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftStrategy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * What the three prompt methods share: sizes read from the model and checked against the config,
 * the adapter added to the model's {@link PromptHost}, its vectors saved as the one tensor
 * {@code prompt_embeddings} (HF PEFT's {@code get_prompt_embedding_to_save}: an encoder's output, not its
 * weights), and a saved adapter loaded as a plain table (HF PEFT's inference mode: no encoder).
 */
abstract class PromptLearningStrategy<C extends PromptLearningConfig> implements PeftStrategy<C> {
    /** HF PEFT's key for the saved virtual tokens. */
    static final String PROMPT_EMBEDDINGS = "prompt_embeddings";

    /** The trained part of a new adapter, its parameters created in {@code model.manager()}. */
    abstract VirtualTokenEncoder createEncoder(PeftModel model, C config, BaseShape shape);

    /** Whether the vectors are per-layer keys and values (prefix tuning) rather than token embeddings. */
    abstract boolean prefixes();

    /** Width of the saved rows for a model of that shape. */
    final long width(BaseShape shape, C config) {
        return prefixes() ? 2L * shape.numLayers() * shape.kvWidth() : shape.hiddenSize();
    }

    /** The config with the model's sizes; an error when a size it states differs from the model's. */
    @SuppressWarnings("unchecked")
    final C resolve(C config, BaseShape shape) {
        String what = getClass().getSimpleName().replace("Strategy", "Config");
        if (prefixes() && !shape.decoder()) {
            throw new IllegalArgumentException(what + ": prefix tuning needs attention that reads a key/value cache; "
                    + "BERT-family encoders in peft4j take none (use prompt tuning or P-tuning on them)");
        }
        int tokenDim = prefixes() ? shape.kvWidth() : shape.hiddenSize();
        int heads = prefixes() ? shape.numKeyValueHeads() : shape.numHeads();
        String widthName = prefixes() ? "key/value width (kv_heads * head_dim)" : "hidden size";
        check(what, "token_dim", config.tokenDim(), tokenDim, "the model's " + widthName + " is " + tokenDim);
        if (!prefixes()) {
            // Virtual input tokens depend on the width only: HF PEFT reads heads and layers but never uses them,
            // so a file for a deeper model of the same width loads (as HF's does), keeping its recorded values.
            return (C) config.withSizes(tokenDim, config.numAttentionHeads() != null ? config.numAttentionHeads() : heads,
                    config.numLayers() != null ? config.numLayers() : shape.numLayers());
        }
        check(what, "num_attention_heads", config.numAttentionHeads(), heads, "the model has " + heads + " key/value heads");
        check(what, "num_layers", config.numLayers(), shape.numLayers(), "the model has " + shape.numLayers() + " layers");
        return (C) config.withSizes(tokenDim, heads, shape.numLayers());
    }

    private static void check(String what, String field, Integer given, int model, String why) {
        if (given != null && given != model) {
            throw new IllegalArgumentException(what + ": " + field + " is " + given + ", but " + why);
        }
    }

    @Override
    public void apply(PeftModel model, C config, String adapterName) {
        BaseShape shape = PromptLearning.shapeOf(model);
        C filled = resolve(config, shape);
        requireNewName(model, adapterName);
        VirtualTokenEncoder encoder = createEncoder(model, filled, shape);
        encoder.initializeMissing(model.manager());
        PromptHost host = PromptLearning.installHost(model);
        host.adapters().add(adapterName, filled, encoder);
        model.setAllTrainable(false);
        setTrainable(encoder, true);
        for (String path : headPaths(model, filled)) {
            setTrainable(model.module(path), true);
        }
        model.registerAdapter(adapterName, filled);
    }

    /**
     * The classification head a {@code SEQ_CLS} adapter trains and saves beside its vectors, as HF PEFT's
     * {@code PeftModelForSequenceClassification} adds {@code classifier}/{@code score} to
     * {@code modules_to_save}. Here the head itself trains (one head shared by the model's prompt adapters,
     * not a copy per adapter); it is saved under HF PEFT's prompt-learning keys {@code base_model.<path>.<param>}.
     */
    static java.util.List<String> headPaths(PeftModel model, PromptLearningConfig config) {
        java.util.List<String> out = new java.util.ArrayList<>();
        if ("SEQ_CLS".equals(config.taskType())) {
            for (String name : new String[] {"classifier", "score"}) {
                if (model.root().child(name) != null) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    private static Map<String, NDArray> headArrays(PeftModel model, PromptLearningConfig config) {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        for (String path : headPaths(model, config)) {
            model.module(path).parameters().forEach((name, p) -> out.put("base_model." + path + "." + name, p.getArray()));
        }
        return out;
    }

    private static void requireNewName(PeftModel model, String adapterName) {
        PromptHost host = PromptLearning.hostOrNull(model);
        if (host != null && host.adapters().names().contains(adapterName)) {
            throw new IllegalArgumentException("A prompt-learning adapter named '" + adapterName + "' already exists");
        }
    }

    static void setTrainable(Module m, boolean trainable) {
        for (Parameter p : m.parameters().values()) {
            p.freeze(!trainable);
        }
        for (Module c : m.modules().values()) {
            setTrainable(c, trainable);
        }
    }

    /** A {@code [rows, cols]} float32 array of N(0, 1) entries: {@code torch.nn.Embedding}'s default. */
    static NDArray standardNormal(PeftModel model, long rows, long cols) {
        return model.manager().randomNormal(0f, 1f, new Shape(rows, cols), DataType.FLOAT32);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, C config, String adapterName) {
        VirtualTokenEncoder encoder = host(model).adapters().encoder(adapterName);
        try (NDManager step = model.manager().newSubManager()) {
            NDArray out = encoder.output(new ParameterStore(model.manager(), false), step, false);
            Map<String, Tensor> state = new java.util.LinkedHashMap<>();
            state.put(PROMPT_EMBEDDINGS, Tensor.of(out));
            headArrays(model, host(model).adapters().config(adapterName)).forEach((k, a) -> state.put(k, Tensor.of(a)));
            return state;
        }
    }

    /** Saves the adapter's own config (sizes filled in) with {@code inference_mode} true, as HF PEFT's {@code save_pretrained}. */
    @Override
    @SuppressWarnings("unchecked")
    public void save(PeftModel model, C config, String adapterName, Path dir) throws IOException {
        C stored = (C) host(model).adapters().config(adapterName).forInference();
        AdapterFiles.save(model, this, stored, adapterName, dir);
    }

    private static PromptHost host(PeftModel model) {
        PromptHost host = PromptLearning.hostOrNull(model);
        if (host == null) {
            throw new IllegalStateException("The model has no prompt-learning adapter");
        }
        return host;
    }

    @Override
    public void load(PeftModel model, C config, Map<String, Tensor> tensors, String adapterName) {
        load(model, config, tensors, adapterName, !config.inferenceMode());
    }

    @Override
    public void load(PeftModel model, C config, Map<String, Tensor> tensors, String adapterName, boolean trainable) {
        BaseShape shape = PromptLearning.shapeOf(model);
        C filled = resolveForFile(model, config, shape, tensors);
        requireNewName(model, adapterName);
        Tensor saved = tensors.get(PROMPT_EMBEDDINGS);
        PromptEmbedding table = new PromptEmbedding(filled.numVirtualTokens(), width(shape, filled));
        table.embedding().setParameterArray("weight", saved.toFloat32NDArray(model.manager()));
        PromptHost host = PromptLearning.installHost(model);
        host.adapters().add(adapterName, filled, table);
        model.setAllTrainable(false);
        setTrainable(table, trainable);
        for (String path : headPaths(model, filled)) {
            for (String name : new java.util.ArrayList<>(model.module(path).parameters().keySet())) {
                model.module(path).setParameterArray(name,
                        tensors.get("base_model." + path + "." + name).toFloat32NDArray(model.manager()));
            }
            setTrainable(model.module(path), trainable);
        }
        model.registerAdapter(adapterName, filled);
    }

    /** Checks the file's one tensor against the config and the model before anything changes. */
    private C resolveForFile(PeftModel model, C config, BaseShape shape, Map<String, Tensor> tensors) {
        String file = AdapterFiles.WEIGHTS_FILE;
        Map<String, NDArray> head = headArrays(model, config);
        java.util.Set<String> expected = new java.util.TreeSet<>(head.keySet());
        expected.add(PROMPT_EMBEDDINGS);
        if (!tensors.keySet().equals(expected)) {
            throw new IllegalArgumentException(file + " must hold exactly the tensors " + expected + " (HF PEFT's keys for "
                    + config.peftType() + (head.isEmpty() ? "" : " with task_type SEQ_CLS") + "); it holds " + tensors.keySet());
        }
        for (Map.Entry<String, NDArray> e : head.entrySet()) {
            long[] want = e.getValue().getShape().getShape();
            if (!Arrays.equals(want, tensors.get(e.getKey()).shape())) {
                throw new IllegalArgumentException(file + ": tensor '" + e.getKey() + "' has shape "
                        + Arrays.toString(tensors.get(e.getKey()).shape()) + "; this model's head needs " + Arrays.toString(want));
            }
        }
        Tensor t = tensors.get(PROMPT_EMBEDDINGS);
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(file + ": tensor '" + PROMPT_EMBEDDINGS + "' must be float32, float16 or bfloat16, got "
                    + t.dtype());
        }
        long expectedWidth = width(shape, config);
        long[] s = t.shape();
        if (s.length != 2 || s[1] != expectedWidth) {
            String widthName = prefixes()
                    ? "num_layers * 2 * kv_width = " + shape.numLayers() + " * 2 * " + shape.kvWidth()
                    : "the model's hidden size";
            throw new IllegalArgumentException(file + ": tensor '" + PROMPT_EMBEDDINGS + "' has shape " + Arrays.toString(s)
                    + " (width " + (s.length == 2 ? s[1] : -1) + "), but this model needs rows of width " + expectedWidth + " ("
                    + widthName + "); the adapter was made for another base model (its token_dim is " + config.tokenDim() + ")");
        }
        if (s[0] != config.numVirtualTokens()) {
            throw new IllegalArgumentException(file + ": tensor '" + PROMPT_EMBEDDINGS + "' has " + s[0]
                    + " rows, but num_virtual_tokens is " + config.numVirtualTokens());
        }
        return resolve(config, shape);
    }

    /**
     * Prompt methods add virtual tokens or prefixes in front of the input; there is no weight they could
     * be folded into, so, as HF PEFT, merging is refused. {@link PromptLearning#unload} removes them.
     */
    @Override
    public void mergeAndUnload(PeftModel model, C config, String adapterName) {
        throw new IllegalStateException(config.peftType() + " adds virtual tokens in front of the input and has no weights to "
                + "merge into the base (HF PEFT refuses too); remove it with PromptLearning.of(model).unload()");
    }
}

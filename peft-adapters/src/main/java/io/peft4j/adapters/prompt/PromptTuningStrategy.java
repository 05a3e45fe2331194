package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Module;
import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code PROMPT_TUNING} (Lester et al. 2021): {@code num_virtual_tokens} trainable input embeddings in
 * front of every sequence; the base model frozen. Init as {@link PromptTuningInit}.
 */
public final class PromptTuningStrategy extends PromptLearningStrategy<PromptTuningConfig> {
    @Override
    public String type() {
        return PromptTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<PromptTuningConfig> configType() {
        return PromptTuningConfig.class;
    }

    @Override
    public PromptTuningConfig parseConfig(JsonNode json) {
        return PromptTuningConfig.fromJson(json);
    }

    @Override
    boolean prefixes() {
        return false;
    }

    @Override
    VirtualTokenEncoder createEncoder(PeftModel model, PromptTuningConfig config, BaseShape shape) {
        int n = config.numVirtualTokens();
        PromptEmbedding table = new PromptEmbedding(n, shape.hiddenSize());
        NDArray init;
        switch (config.promptTuningInit()) {
            case TEXT:
                init = wordEmbeddings(model, repeatOrCut(textIds(config), n));
                break;
            case SAMPLE_VOCAB:
                init = sampledVocabulary(model, n);
                break;
            default:
                init = standardNormal(model, n, shape.hiddenSize());
        }
        table.embedding().setParameterArray("weight", init);
        return table;
    }

    /** HF PEFT's TEXT init: the text's ids (special tokens included, as its tokenizer call), repeated then cut to n. */
    static long[] repeatOrCut(long[] ids, int n) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("PromptTuningConfig: prompt_tuning_init_text encodes to no tokens");
        }
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = ids[i % ids.length];
        }
        return out;
    }

    private static long[] textIds(PromptTuningConfig config) {
        TextTokenizer given = config.initTokenizer();
        if (given != null) {
            return encode(given, config.promptTuningInitText());
        }
        Path p = Path.of(config.tokenizerNameOrPath());
        Path json = Files.isDirectory(p) ? p.resolve("tokenizer.json") : p;
        if (!Files.isRegularFile(json)) {
            throw new IllegalArgumentException("PromptTuningConfig: tokenizer_name_or_path '" + config.tokenizerNameOrPath()
                    + "' is not a local tokenizer.json or a directory holding one (peft4j reads no hub names; give the tokenizer "
                    + "with initTokenizer)");
        }
        try (TextTokenizer t = TextTokenizer.fromJson(json, 512)) {
            return encode(t, config.promptTuningInitText());
        } catch (IOException e) {
            throw new UncheckedIOException(json + ": cannot read the tokenizer", e);
        }
    }

    private static long[] encode(TextTokenizer t, String text) {
        try (NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            return t.encode(m, List.of(text)).get(0).toLongArray();
        }
    }

    private static NDArray sampledVocabulary(PeftModel model, int n) {
        Embedding words = inputEmbeddings(model);
        try (NDManager step = model.manager().newSubManager()) {
            NDArray ids = step.randomInteger(0, words.numEmbeddings(), new Shape(n), DataType.INT64);
            return rowsOf(model, words, ids.toLongArray());
        }
    }

    private static NDArray wordEmbeddings(PeftModel model, long[] ids) {
        Embedding words = inputEmbeddings(model);
        for (long id : ids) {
            if (id < 0 || id >= words.numEmbeddings()) {
                throw new IllegalArgumentException("PromptTuningConfig: the init text's token id " + id
                        + " is outside the model's vocabulary of " + words.numEmbeddings());
            }
        }
        return rowsOf(model, words, ids);
    }

    /** Copies of the input-embedding rows (float32, in the model's manager). */
    private static NDArray rowsOf(PeftModel model, Embedding words, long[] ids) {
        try (NDManager step = model.manager().newSubManager()) {
            NDArray rows = words.forward(new ParameterStore(model.manager(), false), new NDList(step.create(ids)), false)
                    .singletonOrThrow();
            NDArray out = rows.toType(DataType.FLOAT32, true);
            out.attach(model.manager());
            return out;
        }
    }

    private static Embedding inputEmbeddings(PeftModel model) {
        Module m = model.module(model.family().inputEmbeddings(model));
        if (!(m instanceof Embedding)) {
            throw new IllegalArgumentException("The input embeddings at " + model.family().inputEmbeddings(model)
                    + " are a " + m.getClass().getSimpleName() + ", not an Embedding table");
        }
        return (Embedding) m;
    }
}

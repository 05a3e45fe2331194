package io.peft4j.core.task;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.text.TextTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Embeds texts as {@link SentenceEmbedding} does (mean pooling over the attention mask, normalized
 * unless the task says otherwise): {@code embed("...")} returns a {@code float[]}, ready for a vector
 * store. Runs in inference mode; every call's arrays are freed before it returns. Not thread-safe.
 */
public final class TextEmbedder {
    private final PeftModel model;
    private final TextTokenizer tokenizer;
    private final SentenceEmbedding task;

    /** Normalized mean pooling, as all-MiniLM-L6-v2's sentence-transformers pipeline. */
    public TextEmbedder(PeftModel model, TextTokenizer tokenizer) {
        this(model, tokenizer, new SentenceEmbedding());
    }

    public TextEmbedder(PeftModel model, TextTokenizer tokenizer, SentenceEmbedding task) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.task = task;
    }

    public float[] embed(String text) {
        return embedAll(List.of(text)).get(0);
    }

    /** Embeddings of several texts, computed as one batch. */
    public List<float[]> embedAll(List<String> texts) {
        if (texts.isEmpty()) {
            return List.of();
        }
        try (NDManager sm = model.manager().newSubManager()) {
            NDList enc = tokenizer.encode(sm, texts);
            ForwardContext ctx = ForwardContext.of(Batch.builder(texts.size()).putEncoding("", enc).build());
            float[] flat = task.embed(model, ctx, false).toFloatArray();
            int dim = flat.length / texts.size();
            List<float[]> out = new ArrayList<>(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                out.add(java.util.Arrays.copyOfRange(flat, i * dim, (i + 1) * dim));
            }
            return out;
        }
    }
}

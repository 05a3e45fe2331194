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
 * Classifies texts with a sequence-classification model: {@code predict("...")} returns the label
 * and the probabilities, with no arrays, managers or tokenizer internals in the caller's hands.
 * Runs in inference mode; every call's arrays are freed before it returns. Not thread-safe (one
 * model, one caller at a time). Generating text from a causal language model waits for the decoder
 * families; classification and {@link TextEmbedder embeddings} are the predictions available now.
 */
public final class TextClassifier {
    private final PeftModel model;
    private final TextTokenizer tokenizer;
    private final List<String> labels;

    /** @param labels the class names by label id (e.g. {@code TextClassificationData.labelNames()}) */
    public TextClassifier(PeftModel model, TextTokenizer tokenizer, List<String> labels) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.labels = List.copyOf(labels);
    }

    public List<String> labels() {
        return labels;
    }

    public Prediction predict(String text) {
        return predictAll(List.of(text)).get(0);
    }

    /** Predictions for several texts, computed as one batch. */
    public List<Prediction> predictAll(List<String> texts) {
        if (texts.isEmpty()) {
            return List.of();
        }
        try (NDManager sm = model.manager().newSubManager()) {
            NDList enc = tokenizer.encode(sm, texts);
            ForwardContext ctx = ForwardContext.of(Batch.builder(texts.size()).putEncoding("", enc).build());
            float[] logits = model.forward(ctx, false).logits().toFloatArray();
            int c = logits.length / texts.size();
            if (c != labels.size()) {
                throw new IllegalStateException("The model predicts " + c + " classes but " + labels.size()
                        + " label names were given: " + labels);
            }
            List<Prediction> out = new ArrayList<>(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                out.add(new Prediction(labels, softmax(logits, i * c, c)));
            }
            return out;
        }
    }

    /** Softmax in double of one row, shifted by its maximum for range. */
    private static double[] softmax(float[] logits, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[from + i]);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(logits[from + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }
}

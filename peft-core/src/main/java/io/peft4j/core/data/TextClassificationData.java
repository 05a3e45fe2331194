package io.peft4j.core.data;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.text.TextTokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

/**
 * Sentences with class labels, tokenized per batch. Reads JSONL with one
 * {@code {"text": ..., "label": ...}} object per line.
 */
public final class TextClassificationData implements LabeledBatches {
    private final List<String> texts;
    private final int[] labels;
    private final List<String> labelNames;
    private final TextTokenizer tokenizer;

    public TextClassificationData(List<String> texts, int[] labels, List<String> labelNames, TextTokenizer tokenizer) {
        if (texts.size() != labels.length) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.length + " labels");
        }
        for (int l : labels) {
            if (l < 0 || l >= labelNames.size()) {
                throw new IllegalArgumentException("Label id " + l + " outside [0, " + labelNames.size() + ")");
            }
        }
        this.texts = List.copyOf(texts);
        this.labels = labels.clone();
        this.labelNames = List.copyOf(labelNames);
        this.tokenizer = tokenizer;
    }

    /** The sorted distinct labels of a JSONL file, to fix the label ids before reading splits. */
    public static List<String> labelsOf(InputStream jsonl, String source) throws IOException {
        TreeSet<String> set = new TreeSet<>();
        for (JsonNode n : parse(jsonl, source)) {
            set.add(n.get("label").asText());
        }
        return new ArrayList<>(set);
    }

    /** Reads JSONL; every label must be one of {@code labelNames} (whose order gives the ids). */
    public static TextClassificationData readJsonl(InputStream jsonl, String source, List<String> labelNames,
            TextTokenizer tokenizer) throws IOException {
        List<String> texts = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        int line = 0;
        for (JsonNode n : parse(jsonl, source)) {
            line++;
            int id = labelNames.indexOf(n.get("label").asText());
            if (id < 0) {
                throw new IOException(source + " record " + line + ": label '" + n.get("label").asText()
                        + "' is not one of " + labelNames);
            }
            texts.add(n.get("text").asText());
            ids.add(id);
        }
        return new TextClassificationData(texts, ids.stream().mapToInt(Integer::intValue).toArray(), labelNames, tokenizer);
    }

    private static List<JsonNode> parse(InputStream jsonl, String source) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(jsonl, StandardCharsets.UTF_8))) {
            String s;
            int line = 0;
            while ((s = r.readLine()) != null) {
                line++;
                if (s.isBlank()) {
                    continue;
                }
                JsonNode n;
                try {
                    n = json.readTree(s);
                } catch (JsonProcessingException e) {
                    throw new IOException(source + " line " + line + ": not valid JSON: " + e.getOriginalMessage(), e);
                }
                if (n == null || !n.hasNonNull("text") || !n.hasNonNull("label")) {
                    throw new IOException(source + " line " + line + ": expected an object with 'text' and 'label'");
                }
                out.add(n);
            }
        }
        return out;
    }

    @Override
    public int size() {
        return texts.size();
    }

    public List<String> texts() {
        return texts;
    }

    @Override
    public List<String> labelNames() {
        return Collections.unmodifiableList(labelNames);
    }

    public int label(int i) {
        return labels[i];
    }

    /** {@code input_ids}, {@code attention_mask}, {@code token_type_ids} from the tokenizer, and int64 {@code labels}. */
    @Override
    public Batch batch(NDManager manager, int[] indices) {
        List<String> texts = new ArrayList<>(indices.length);
        long[] out = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            texts.add(this.texts.get(indices[i]));
            out[i] = labels[indices[i]];
        }
        NDList enc = tokenizer.encode(manager, texts);
        return Batch.builder(indices.length)
                .put(Batch.INPUT_IDS, enc.get(0))
                .put(Batch.ATTENTION_MASK, enc.get(1))
                .put(Batch.TOKEN_TYPE_IDS, enc.get(2))
                .put(Batch.LABELS, manager.create(out))
                .build();
    }
}

package io.peft4j.core.data;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

/**
 * Sentences with class labels, tokenized per batch. Reads JSONL with one
 * {@code {"text": ..., "label": ...}} object per line, or CSV/TSV with columns {@code text} and
 * {@code label}; a label may be a string or a number and is matched by its text.
 */
public final class TextClassificationData implements LabeledBatches {
    public static final String TEXT = "text";
    public static final String LABEL = "label";

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

    /** A file (JSONL, CSV or TSV by extension) with fields {@code text} and {@code label}; label ids in sorted order. */
    public static TextClassificationData read(Path file, TextTokenizer tokenizer) throws IOException {
        List<Record> records = Records.read(file);
        return of(records, labelsOf(records), tokenizer);
    }

    /** As {@link #read(Path, TextTokenizer)} with fixed label ids: every label must be one of {@code labelNames}. */
    public static TextClassificationData read(Path file, List<String> labelNames, TextTokenizer tokenizer) throws IOException {
        return of(Records.read(file), labelNames, tokenizer);
    }

    /** The sorted distinct labels of a JSONL file, to fix the label ids before reading splits. */
    public static List<String> labelsOf(InputStream jsonl, String source) throws IOException {
        return labelsOf(Records.read(jsonl, source, DataFormat.JSONL));
    }

    /** The sorted distinct labels of a data file (JSONL, CSV or TSV by extension). */
    public static List<String> labelsOf(Path file) throws IOException {
        return labelsOf(Records.read(file));
    }

    private static List<String> labelsOf(List<Record> records) throws IOException {
        TreeSet<String> set = new TreeSet<>();
        for (Record r : records) {
            set.add(r.scalar(LABEL));
        }
        return new ArrayList<>(set);
    }

    /** Reads JSONL; every label must be one of {@code labelNames} (whose order gives the ids). */
    public static TextClassificationData readJsonl(InputStream jsonl, String source, List<String> labelNames,
            TextTokenizer tokenizer) throws IOException {
        return of(Records.read(jsonl, source, DataFormat.JSONL), labelNames, tokenizer);
    }

    private static TextClassificationData of(List<Record> records, List<String> labelNames, TextTokenizer tokenizer)
            throws IOException {
        List<String> texts = new ArrayList<>();
        int[] ids = new int[records.size()];
        for (int i = 0; i < ids.length; i++) {
            Record r = records.get(i);
            String label = r.scalar(LABEL);
            ids[i] = labelNames.indexOf(label);
            if (ids[i] < 0) {
                throw r.error("field 'label': '" + label + "' is not one of " + labelNames);
            }
            texts.add(r.string(TEXT));
        }
        return new TextClassificationData(texts, ids, labelNames, tokenizer);
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
                .putEncoding("", enc)
                .put(Batch.LABELS, manager.create(out))
                .build();
    }
}

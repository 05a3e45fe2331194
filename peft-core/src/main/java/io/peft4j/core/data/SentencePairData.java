package io.peft4j.core.data;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * (anchor, positive[, negative]) text pairs for {@link io.peft4j.core.task.SentenceEmbedding}, as sentence-transformers'
 * pair and triplet datasets: fields {@code anchor}, {@code positive} and optionally {@code negative}
 * (in every record or in none). A batch tokenizes each column on its own and holds it under the
 * column's prefix: {@code anchor_input_ids}, {@code anchor_attention_mask}, {@code anchor_token_type_ids}, ...
 */
public final class SentencePairData implements Batches {
    public static final String ANCHOR = "anchor";
    public static final String POSITIVE = "positive";
    public static final String NEGATIVE = "negative";
    /** The prefixes of each column's arrays in a batch. */
    public static final String ANCHOR_PREFIX = ANCHOR + "_";
    public static final String POSITIVE_PREFIX = POSITIVE + "_";
    public static final String NEGATIVE_PREFIX = NEGATIVE + "_";

    private final List<String> anchors;
    private final List<String> positives;
    private final List<String> negatives;
    private final TextTokenizer tokenizer;

    /** @param negatives one hard negative per anchor, or null */
    public SentencePairData(List<String> anchors, List<String> positives, List<String> negatives, TextTokenizer tokenizer) {
        if (anchors.size() != positives.size() || (negatives != null && negatives.size() != anchors.size())) {
            throw new IllegalArgumentException(anchors.size() + " anchors, " + positives.size() + " positives and "
                    + (negatives == null ? "no" : Integer.toString(negatives.size())) + " negatives; expected as many of each");
        }
        this.anchors = List.copyOf(anchors);
        this.positives = List.copyOf(positives);
        this.negatives = negatives == null ? null : List.copyOf(negatives);
        this.tokenizer = tokenizer;
    }

    /** Reads a JSONL, CSV or TSV file (by extension). */
    public static SentencePairData read(Path file, TextTokenizer tokenizer) throws IOException {
        return of(Records.read(file), tokenizer);
    }

    public static SentencePairData of(List<Record> records, TextTokenizer tokenizer) throws IOException {
        List<String> a = new ArrayList<>();
        List<String> p = new ArrayList<>();
        List<String> n = new ArrayList<>();
        Boolean withNegatives = null;
        for (Record r : records) {
            a.add(r.string(ANCHOR));
            p.add(r.string(POSITIVE));
            boolean has = r.has(NEGATIVE);
            if (withNegatives == null) {
                withNegatives = has;
            } else if (withNegatives != has) {
                throw r.error("field 'negative' is " + (has ? "present" : "missing")
                        + " but the first record " + (has ? "has none" : "has one") + "; give it in every record or in none");
            }
            if (has) {
                n.add(r.string(NEGATIVE));
            }
        }
        return new SentencePairData(a, p, Boolean.TRUE.equals(withNegatives) ? n : null, tokenizer);
    }

    @Override
    public int size() {
        return anchors.size();
    }

    public boolean hasNegatives() {
        return negatives != null;
    }

    @Override
    public Batch batch(NDManager manager, int[] indices) {
        Batch.Builder b = Batch.builder(indices.length);
        put(b, manager, ANCHOR_PREFIX, anchors, indices);
        put(b, manager, POSITIVE_PREFIX, positives, indices);
        if (negatives != null) {
            put(b, manager, NEGATIVE_PREFIX, negatives, indices);
        }
        return b.build();
    }

    private void put(Batch.Builder b, NDManager manager, String prefix, List<String> texts, int[] indices) {
        List<String> picked = new ArrayList<>(indices.length);
        for (int i : indices) {
            picked.add(texts.get(i));
        }
        NDList enc = tokenizer.encode(manager, picked);
        b.putEncoding(prefix, enc);
    }
}

package io.peft4j.core.task;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What an evaluation measured, by name in a fixed order (e.g. {@code loss}, {@code accuracy}). Immutable.
 * A task may return a subclass with more than scalars (e.g. {@link ClassificationMetrics}'s confusion matrix).
 */
public class Metrics {
    public static final String LOSS = "loss";
    public static final String ACCURACY = "accuracy";
    public static final String MACRO_F1 = "macro_f1";
    public static final String PERPLEXITY = "perplexity";
    public static final String TOKEN_ACCURACY = "token_accuracy";
    /** In-batch retrieval accuracy@1 of a sentence-embedding evaluation. */
    public static final String RETRIEVAL_ACCURACY = "accuracy@1";

    private final Map<String, Double> values;

    public Metrics(Map<String, Double> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The metric of that name; asking for one the task does not compute is an error naming those it does. */
    public double get(String name) {
        Double v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("No metric '" + name + "'; this evaluation has " + values.keySet());
        }
        return v;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public Map<String, Double> asMap() {
        return values;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        values.forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append(' ')
                .append(String.format(Locale.ROOT, "%.4f", v)));
        return s.toString();
    }
}

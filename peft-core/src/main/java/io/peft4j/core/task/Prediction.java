package io.peft4j.core.task;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A classifier's answer for one text: the most probable label and every label's probability. Immutable. */
public final class Prediction {
    private final List<String> labels;
    private final double[] probabilities;
    private final int best;

    Prediction(List<String> labels, double[] probabilities) {
        this.labels = labels;
        this.probabilities = probabilities.clone();
        int b = 0;
        for (int i = 1; i < probabilities.length; i++) {
            if (probabilities[i] > probabilities[b]) {
                b = i;
            }
        }
        this.best = b;
    }

    /** The most probable label's name. */
    public String label() {
        return labels.get(best);
    }

    /** The most probable label's id. */
    public int labelId() {
        return best;
    }

    /** The probability of the predicted label. */
    public double score() {
        return probabilities[best];
    }

    /** The softmax probabilities by label id. */
    public double[] probabilities() {
        return probabilities.clone();
    }

    /** The probabilities by label name, in label-id order. */
    public Map<String, Double> byLabel() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < probabilities.length; i++) {
            out.put(labels.get(i), probabilities[i]);
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    public String toString() {
        return label() + String.format(java.util.Locale.ROOT, " (%.4f)", score());
    }
}

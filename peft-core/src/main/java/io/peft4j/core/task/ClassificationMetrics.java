package io.peft4j.core.task;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Classification metrics from a confusion matrix ({@code [gold][predicted]} counts): accuracy,
 * per-class precision, recall and F1, and macro-F1 as scikit-learn's {@code f1_score(average="macro")}
 * computes it: the mean F1 over the classes that occur as gold or predicted labels, a class with no
 * predictions (or no gold examples) having precision (or recall) 0. The scalar map holds
 * {@code loss}, {@code accuracy} and {@code macro_f1}.
 */
public final class ClassificationMetrics extends Metrics {
    private final long[][] confusion;
    private final List<String> labelNames;

    /**
     * @param labelNames the class names by id, or null for {@code "0", "1", ...}
     */
    public ClassificationMetrics(double loss, long[][] confusion, List<String> labelNames) {
        super(scalars(loss, square(confusion)));
        int c = confusion.length;
        if (labelNames != null && labelNames.size() != c) {
            throw new IllegalArgumentException(labelNames.size() + " label names for a " + c + "-class confusion matrix");
        }
        this.confusion = new long[c][];
        for (int i = 0; i < c; i++) {
            this.confusion[i] = confusion[i].clone();
        }
        this.labelNames = labelNames == null ? null : List.copyOf(labelNames);
    }

    private static long[][] square(long[][] confusion) {
        for (int i = 0; i < confusion.length; i++) {
            if (confusion[i].length != confusion.length) {
                throw new IllegalArgumentException("Confusion matrix row " + i + " has " + confusion[i].length
                        + " columns; expected " + confusion.length);
            }
        }
        return confusion;
    }

    private static Map<String, Double> scalars(double loss, long[][] confusion) {
        Map<String, Double> out = new LinkedHashMap<>();
        out.put(LOSS, loss);
        out.put(ACCURACY, accuracy(confusion));
        out.put(MACRO_F1, macroF1(confusion));
        return out;
    }

    public int numClasses() {
        return confusion.length;
    }

    /** The name of class {@code c}: its label name, or its id. */
    public String labelName(int c) {
        return labelNames == null ? Integer.toString(c) : labelNames.get(c);
    }

    /** A copy of the counts, {@code [gold][predicted]}. */
    public long[][] confusionMatrix() {
        long[][] copy = new long[confusion.length][];
        for (int i = 0; i < confusion.length; i++) {
            copy[i] = confusion[i].clone();
        }
        return copy;
    }

    public long total() {
        long n = 0;
        for (long[] row : confusion) {
            for (long v : row) {
                n += v;
            }
        }
        return n;
    }

    public double accuracy() {
        return get(ACCURACY);
    }

    public double macroF1() {
        return get(MACRO_F1);
    }

    /** Correct predictions of {@code c} over all predictions of {@code c}; 0 when nothing was predicted {@code c}. */
    public double precision(int c) {
        return precision(confusion, c);
    }

    /** Correct predictions of {@code c} over all examples of {@code c}; 0 when there are none. */
    public double recall(int c) {
        return recall(confusion, c);
    }

    public double f1(int c) {
        return f1(confusion, c);
    }

    private static double precision(long[][] m, int c) {
        long predicted = 0;
        for (long[] row : m) {
            predicted += row[c];
        }
        return predicted == 0 ? 0 : (double) m[c][c] / predicted;
    }

    private static double recall(long[][] m, int c) {
        long gold = 0;
        for (long v : m[c]) {
            gold += v;
        }
        return gold == 0 ? 0 : (double) m[c][c] / gold;
    }

    private static double f1(long[][] m, int c) {
        double p = precision(m, c);
        double r = recall(m, c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    private static double accuracy(long[][] m) {
        long correct = 0;
        long n = 0;
        for (int i = 0; i < m.length; i++) {
            correct += m[i][i];
            for (long v : m[i]) {
                n += v;
            }
        }
        return n == 0 ? Double.NaN : (double) correct / n;
    }

    private static double macroF1(long[][] m) {
        double sum = 0;
        int present = 0;
        for (int c = 0; c < m.length; c++) {
            long goldOrPredicted = 0;
            for (int i = 0; i < m.length; i++) {
                goldOrPredicted += m[c][i] + m[i][c];
            }
            if (goldOrPredicted > 0) {
                sum += f1(m, c);
                present++;
            }
        }
        return present == 0 ? Double.NaN : sum / present;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(super.toString()).append("; per class (precision/recall/f1):");
        for (int c = 0; c < confusion.length; c++) {
            s.append(String.format(java.util.Locale.ROOT, " %s %.4f/%.4f/%.4f", labelName(c), precision(c), recall(c), f1(c)));
        }
        return s.toString();
    }
}

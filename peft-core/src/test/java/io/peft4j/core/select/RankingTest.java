package io.peft4j.core.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Element and tensor rankings against a brute-force Java reference computed here: every score is
 * listed with its tensor and flat index, sorted by score (descending), then candidate order, then
 * flat index (the documented tie rule), and the first k are taken. Weights and gradients are rounded
 * to a coarse grid so that ties are common and the tie rule is really exercised. Comparisons are
 * exact: |x| of a float32 is exact in both Java and libtorch.
 */
class RankingTest {
    static PeftModel model;
    static List<NamedParameter> candidates;

    @BeforeAll
    static void load() {
        model = TinyBert.classifier(5, 0f);
        model.setAllTrainable(true);
        candidates = Selector.kind(ModuleKind.LINEAR).and(Selector.regex(".*\\.weight")).parameters(model);
        NDManager m = model.manager();
        for (NamedParameter p : candidates) {
            float[] w = p.parameter().getArray().toFloatArray();
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.round(w[i] * 100) / 100f; // BERT init has std 0.02: a dozen distinct values
            }
            p.module().setParameterArray(p.localName(), m.create(w, p.parameter().getShape()));
        }
        // gradient = c exactly, for loss = sum(w * c); c holds many equal values too
        try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (int t = 0; t < candidates.size(); t++) {
                NDArray w = candidates.get(t).parameter().getArray();
                NDArray c = step.create(gradient(t, (int) w.size()), w.getShape());
                NDArray term = c.mul(w).sum();
                loss = loss == null ? term : loss.add(term);
            }
            gc.backward(loss);
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Gradient values of tensor t: a pattern of 7 magnitudes with both signs. */
    private static float[] gradient(int t, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = ((i * 31 + t * 17) % 7 - 3) * 0.5f;
        }
        return g;
    }

    private static float[] scores(Criterion c, int t) {
        NamedParameter p = candidates.get(t);
        float[] v = c == Criterion.MAGNITUDE ? p.parameter().getArray().toFloatArray() : gradient(t, (int) p.size());
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.abs(v[i]);
        }
        return v;
    }

    /** The reference: per candidate, the sorted flat indices of the k best by the tie rule. */
    private static long[][] bruteForce(Criterion c, int k) {
        List<long[]> all = new ArrayList<>(); // {float bits, tensor, index}
        for (int t = 0; t < candidates.size(); t++) {
            float[] s = scores(c, t);
            for (int i = 0; i < s.length; i++) {
                all.add(new long[] {Float.floatToIntBits(s[i]), t, i});
            }
        }
        all.sort(Comparator.<long[]>comparingDouble(e -> -Float.intBitsToFloat((int) e[0]))
                .thenComparingLong(e -> e[1]).thenComparingLong(e -> e[2]));
        List<List<Long>> per = new ArrayList<>();
        candidates.forEach(p -> per.add(new ArrayList<>()));
        for (int j = 0; j < k; j++) {
            per.get((int) all.get(j)[1]).add(all.get(j)[2]);
        }
        long[][] out = new long[candidates.size()][];
        for (int t = 0; t < out.length; t++) {
            out[t] = per.get(t).stream().mapToLong(Long::longValue).sorted().toArray();
        }
        return out;
    }

    private static void assertMatches(Criterion c, int k) {
        ElementSelection sel = Ranking.by(c).topK(k).selectElements(candidates);
        long[][] want = bruteForce(c, k);
        assertEquals(k, sel.count(), c + " top " + k);
        for (int t = 0; t < candidates.size(); t++) {
            String name = candidates.get(t).name();
            assertArrayEquals(want[t], sel.indices(name), c + " top " + k + " of " + name);
        }
        try (NDManager m = model.manager().newSubManager()) {
            NamedParameter p = candidates.get(candidates.size() - 1);
            float[] mask = new float[(int) p.size()];
            for (long i : want[candidates.size() - 1]) {
                mask[(int) i] = 1f;
            }
            NDArray got = sel.mask(p, m);
            assertEquals(p.parameter().getShape(), got.getShape());
            assertArrayEquals(mask, got.toFloatArray(), 0f, "mask of " + p.name());
        }
    }

    @Test
    void magnitudeElementsEqualTheBruteForceChoiceTiesIncluded() {
        long total = candidates.stream().mapToLong(NamedParameter::size).sum();
        for (int k : new int[] {1, 37, 500, 4_000, (int) total}) {
            assertMatches(Criterion.MAGNITUDE, k);
        }
    }

    @Test
    void gradientElementsEqualTheBruteForceChoiceTiesIncluded() {
        long total = candidates.stream().mapToLong(NamedParameter::size).sum();
        for (int k : new int[] {1, 100, 3_333, (int) total - 7}) {
            assertMatches(Criterion.GRADIENT, k);
        }
    }

    @Test
    void tensorsAreRankedByTheirMeanScore() {
        double[] mean = new double[candidates.size()];
        Integer[] order = new Integer[mean.length];
        for (int t = 0; t < mean.length; t++) {
            for (float v : scores(Criterion.MAGNITUDE, t)) {
                mean[t] += v;
            }
            mean[t] /= candidates.get(t).size();
            order[t] = t;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(t -> -mean[t]).thenComparingInt(t -> t));
        List<String> want = new ArrayList<>();
        for (int t = 0; t < mean.length; t++) {
            if (Arrays.asList(order).subList(0, 4).contains(t)) {
                want.add(candidates.get(t).name());
            }
        }
        List<String> got = new ArrayList<>();
        Ranking.by(Criterion.MAGNITUDE).topK(4).selectTensors(candidates).forEach(p -> got.add(p.name()));
        assertEquals(want, got);
    }

    @Test
    void rankingLeavesNoArrayBehindInTheModelManager() {
        Ranking.by(Criterion.GRADIENT).fraction(0.1).selectElements(candidates); // warm-up: lazy engine state
        int before = model.manager().getManagedArrays().size();
        for (int i = 0; i < 10; i++) {
            Ranking.by(Criterion.MAGNITUDE).topK(300).selectElements(candidates);
            Ranking.by(Criterion.GRADIENT).fraction(0.1).selectElements(candidates);
            Ranking.by(Criterion.RANDOM).seed(i).topK(50).selectElements(candidates);
            Ranking.by(Criterion.MAGNITUDE).topK(3).selectTensors(candidates);
            Ranking.by(Criterion.GRADIENT).topK(3).selectTensors(candidates);
        }
        assertEquals(before, model.manager().getManagedArrays().size(), "arrays left in the model's manager");
    }

    @Test
    void randomElementsAreReproducibleAndCountExact() {
        ElementSelection a = Ranking.by(Criterion.RANDOM).seed(3).fraction(0.05).selectElements(candidates);
        ElementSelection b = Ranking.by(Criterion.RANDOM).seed(3).fraction(0.05).selectElements(candidates);
        long total = candidates.stream().mapToLong(NamedParameter::size).sum();
        assertEquals((long) Math.ceil(0.05 * total), a.count());
        for (NamedParameter p : candidates) {
            assertArrayEquals(a.indices(p.name()), b.indices(p.name()), p.name());
        }
    }

    @Test
    void nanScoresAreRefusedByName() {
        try (PeftModel m = TinyBert.classifier(6, 0f)) {
            NamedParameter p = m.parameter("classifier.weight");
            float[] w = p.parameter().getArray().toFloatArray();
            w[3] = Float.NaN;
            p.module().setParameterArray(p.localName(), m.manager().create(w, p.parameter().getShape()));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Ranking.by(Criterion.MAGNITUDE).topK(5).selectElements(List.of(p)));
            assertTrue(e.getMessage().contains("classifier.weight"), e.getMessage());
        }
    }
}

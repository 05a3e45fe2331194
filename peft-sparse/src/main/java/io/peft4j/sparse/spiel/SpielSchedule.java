package io.peft4j.sparse.spiel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.train.CheckpointState;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.TrainerCallback;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * SpIEL's drop-and-regrow schedule as a trainer callback. After every {@code reselection_steps}-th
 * optimizer step, each layer drops {@code floor(rate * k)} values of smallest |value| and regrows as
 * many inactive positions (new values 0, their AdamW moments reset exactly); the rate starts at
 * {@code initial_reselection_rate} and decays linearly to 0 at {@code totalSteps}. Regrowth ranks:
 * <ul>
 *   <li>SpIEL-AG ({@code rigl}): |gradient| summed over the last {@code selection_accumulation_steps}
 *   steps before a reselection, for {@code k} random inactive candidates per layer only (a zero probe
 *   at those positions inside the same scatter), so memory stays proportional to the density;</li>
 *   <li>SpIEL-MA ({@code sm3}): SM3-style row and column accumulators of the squared gradients of the
 *   active values ({@code nu = min(row_i, col_j) + g^2}, rows and columns keep their maximum), an
 *   inactive position scoring {@code min(row_i, col_j)}.</li>
 * </ul>
 * Positions, accumulators and candidates are part of the checkpoint state, so a resumed run continues
 * with the same active set.
 */
public final class SpielSchedule implements TrainerCallback {
    private static final Logger LOG = LoggerFactory.getLogger(SpielSchedule.class);

    private final SpielModel spiel;
    private final String adapter;
    private final SpielConfig config;
    private final long totalSteps;
    private final Random random;
    /** SpIEL-AG: candidate positions and their summed gradients, per layer path, during a window. */
    private final Map<String, long[]> candidates = new HashMap<>();
    private final Map<String, float[]> gradientSums = new HashMap<>();
    /** SpIEL-MA: row and column accumulators per layer path. */
    private final Map<String, float[]> rows = new HashMap<>();
    private final Map<String, float[]> cols = new HashMap<>();
    private final Map<String, NDArray> probes = new HashMap<>();

    private SpielSchedule(PeftModel model, long totalSteps) {
        this.spiel = SpielModel.of(model);
        this.adapter = spiel.active();
        this.config = spiel.config(adapter);
        this.totalSteps = totalSteps;
        this.random = new Random(config.seed() + 1);
    }

    /** The schedule of the model's active SpIEL adapter over a run of {@code totalSteps} optimizer steps. */
    public static SpielSchedule of(PeftModel model, long totalSteps) {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("SpIEL schedule: totalSteps is " + totalSteps + ", expected >= 1");
        }
        return new SpielSchedule(model, totalSteps);
    }

    @Override
    public String name() {
        return "spiel";
    }

    private int phase(long step) {
        return (int) (step % config.reselectionSteps());
    }

    private boolean reselectsAfter(long step) {
        return phase(step) == config.reselectionSteps() - 1 && step + 1 < totalSteps;
    }

    private boolean collects(long step) {
        return config.selectionAlgorithm() == SpielConfig.SelectionAlgorithm.RIGL
                && phase(step) >= config.reselectionSteps() - config.selectionAccumulationSteps()
                && (step - phase(step)) + config.reselectionSteps() < totalSteps;
    }

    @Override
    public void onStepBegin(StepContext s) {
        if (!collects(s.step())) {
            return;
        }
        NDManager step = s.manager();
        for (Map.Entry<String, SpielLinear> e : spiel.layersOf(adapter).entrySet()) {
            SpielLinear l = e.getValue();
            long[] cand = candidates.computeIfAbsent(e.getKey(), p -> drawCandidates(l));
            gradientSums.computeIfAbsent(e.getKey(), p -> new float[cand.length]);
            NDArray probe = step.zeros(new ai.djl.ndarray.types.Shape(cand.length));
            probe.setRequiresGradient(true);
            probes.put(e.getKey(), probe);
            l.setProbe(adapter, step.create(cand), probe);
        }
    }

    /** Up to {@code k} inactive positions drawn uniformly, ascending. */
    private long[] drawCandidates(SpielLinear l) {
        long[] active = l.indicesOf(adapter).toLongArray();
        java.util.Set<Long> taken = new java.util.HashSet<>();
        for (long p : active) {
            taken.add(p);
        }
        long inactive = l.numel() - active.length;
        int c = (int) Math.min(inactive, active.length);
        long[] out = new long[c];
        int n = 0;
        while (n < c) {
            long p = (long) (random.nextDouble() * l.numel());
            if (taken.add(p)) {
                out[n++] = p;
            }
        }
        java.util.Arrays.sort(out);
        return out;
    }

    @Override
    public void afterBackward(StepContext s) {
        Map<String, SpielLinear> layers = spiel.layersOf(adapter);
        for (Map.Entry<String, NDArray> e : probes.entrySet()) {
            float[] g = e.getValue().getGradient().toFloatArray();
            float[] sum = gradientSums.get(e.getKey());
            for (int i = 0; i < g.length; i++) {
                sum[i] += g[i];
            }
            layers.get(e.getKey()).clearProbe(adapter);
        }
        probes.clear();
        if (config.selectionAlgorithm() == SpielConfig.SelectionAlgorithm.SM3) {
            Map<String, NDArray> grads = new HashMap<>();
            for (Map.Entry<NamedParameter, NDArray> e : s.gradients().entrySet()) {
                grads.put(e.getKey().name(), e.getValue());
            }
            layers.forEach((path, l) -> {
                NDArray g = grads.get(valuesName(path));
                if (g != null) {
                    updateSm3(path, l, g.toFloatArray());
                }
            });
        }
    }

    private void updateSm3(String path, SpielLinear l, float[] g) {
        int in = (int) l.base().inFeatures();
        float[] r = rows.computeIfAbsent(path, p -> new float[(int) l.base().outFeatures()]);
        float[] c = cols.computeIfAbsent(path, p -> new float[in]);
        long[] idx = l.indicesOf(adapter).toLongArray();
        float[] nr = r.clone();
        float[] nc = c.clone();
        for (int k = 0; k < idx.length; k++) {
            int i = (int) (idx[k] / in);
            int j = (int) (idx[k] % in);
            float nu = Math.min(r[i], c[j]) + g[k] * g[k];
            nr[i] = Math.max(nr[i], nu);
            nc[j] = Math.max(nc[j], nu);
        }
        System.arraycopy(nr, 0, r, 0, r.length);
        System.arraycopy(nc, 0, c, 0, c.length);
    }

    private String valuesName(String path) {
        return path + "." + SpielLinear.SFT_DELTA + "." + adapter + "." + DeltaValues.VALUES;
    }

    @Override
    public void afterOptimizerStep(StepContext s) {
        if (!reselectsAfter(s.step())) {
            return;
        }
        double rate = Reselection.rate(config.initialReselectionRate(), s.step() + 1, totalSteps);
        long moved = 0;
        for (Map.Entry<String, SpielLinear> e : spiel.layersOf(adapter).entrySet()) {
            String path = e.getKey();
            SpielLinear l = e.getValue();
            long[] active = l.indicesOf(adapter).toLongArray();
            int n = Reselection.changes(active.length, rate);
            if (n == 0) {
                continue;
            }
            long[] cand;
            float[] scores;
            if (config.selectionAlgorithm() == SpielConfig.SelectionAlgorithm.RIGL) {
                cand = candidates.getOrDefault(path, new long[0]);
                float[] sum = gradientSums.getOrDefault(path, new float[0]);
                scores = new float[sum.length];
                for (int i = 0; i < sum.length; i++) {
                    scores[i] = Math.abs(sum[i]);
                }
            } else {
                int in = (int) l.base().inFeatures();
                float[] r = rows.getOrDefault(path, new float[(int) l.base().outFeatures()]);
                float[] c = cols.getOrDefault(path, new float[in]);
                cand = new long[Math.toIntExact(l.numel())];
                scores = new float[cand.length];
                for (int p = 0; p < cand.length; p++) {
                    cand[p] = p;
                    scores[p] = Math.min(r[p / in], c[p % in]);
                }
            }
            Reselection change = Reselection.choose(l.valuesOf(adapter).toFloatArray(), active, cand, scores, n);
            l.moveSlots(adapter, change.slots, change.positions);
            long[] slots = new long[change.slots.length];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = change.slots[i];
            }
            s.optimizer().resetState(valuesName(path), s.manager().create(slots));
            moved += slots.length;
        }
        candidates.clear();
        gradientSums.clear();
        LOG.debug("SpIEL step {}: rate {}, {} values moved", s.step() + 1, rate, moved);
    }

    @Override
    public CheckpointState state() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        spiel.layersOf(adapter).forEach((path, l) -> t.put("indices." + path, longs(l.indicesOf(adapter).toLongArray())));
        candidates.forEach((p, c) -> t.put("candidates." + p, longs(c)));
        gradientSums.forEach((p, g) -> t.put("gradient_sums." + p, Tensor.ofFloats(g, g.length)));
        rows.forEach((p, r) -> t.put("rows." + p, Tensor.ofFloats(r, r.length)));
        cols.forEach((p, c) -> t.put("cols." + p, Tensor.ofFloats(c, c.length)));
        return CheckpointState.of(t, null);
    }

    @Override
    public void restore(CheckpointState state) {
        Map<String, SpielLinear> layers = spiel.layersOf(adapter);
        candidates.clear();
        gradientSums.clear();
        rows.clear();
        cols.clear();
        for (Map.Entry<String, Tensor> e : state.tensors().entrySet()) {
            String key = e.getKey();
            String path = key.substring(key.indexOf('.') + 1);
            if (!layers.containsKey(path)) {
                throw new IllegalStateException("SpIEL checkpoint state names layer " + path + ", which the model's adapter '"
                        + adapter + "' does not have");
            }
            Tensor t = e.getValue();
            if (key.startsWith("indices.")) {
                long[] idx = new long[Math.toIntExact(t.numel())];
                t.data().asLongBuffer().get(idx);
                layers.get(path).indicesOf(adapter).set(idx);
            } else if (key.startsWith("candidates.")) {
                long[] c = new long[Math.toIntExact(t.numel())];
                t.data().asLongBuffer().get(c);
                candidates.put(path, c);
            } else if (key.startsWith("gradient_sums.")) {
                gradientSums.put(path, t.toFloatArray());
            } else if (key.startsWith("rows.")) {
                rows.put(path, t.toFloatArray());
            } else if (key.startsWith("cols.")) {
                cols.put(path, t.toFloatArray());
            }
        }
    }

    private static Tensor longs(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return new Tensor(io.peft4j.core.io.DType.I64, new long[] {v.length}, b);
    }
}

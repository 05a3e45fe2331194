package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;

import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019), as PyTorch's {@code AdamW}:
 * {@code w -= lr * wd * w}, then the bias-corrected Adam step. Written here rather than taken from
 * DJL so its moments can be saved in a checkpoint, reset element by element, and every temporary
 * freed each step.
 *
 * <p>The set of parameters may change from one step to the next (a strategy unfreezing or freezing
 * parameters): each {@link #step} creates zero moments for a parameter it has not seen and drops the
 * moments of one it no longer receives. As in PyTorch, every parameter counts its own steps, so a
 * parameter that starts training late gets the bias correction of its own first step.
 *
 * <p>Biases and the weights of normalization layers do not decay ({@link #decays}): the roles
 * transformers' {@code Trainer} exempts, found from the parameter's DJL type and its module's kind
 * rather than from its name.
 *
 * <p>The moments live in the optimizer's own manager; per-step temporaries go to the step manager
 * the caller passes, which it closes after the step.
 */
public final class AdamW implements AutoCloseable {
    private static final String EXP_AVG = "exp_avg.";
    private static final String EXP_AVG_SQ = "exp_avg_sq.";
    private static final String STEP = "step.";

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final NDManager stateManager;
    private final Map<String, Moments> state = new LinkedHashMap<>();
    private long steps;

    /** The moments of one parameter and the number of updates it has had. */
    private static final class Moments {
        NDArray m;
        NDArray v;
        long steps;

        void close() {
            m.close();
            v.close();
        }
    }

    public AdamW(NDManager parent, float beta1, float beta2, float eps, float weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.stateManager = parent.newSubManager();
    }

    /** Whether weight decay applies: not to biases, not to any normalization layer's parameters. */
    public static boolean decays(NamedParameter p) {
        return p.parameter().getType() != Parameter.Type.BIAS && !p.module().kind().isNorm();
    }

    /** Optimizer steps taken (calls of {@link #step}). */
    public long steps() {
        return steps;
    }

    /** The names of the parameters that have moments, in the order they first trained. */
    public Set<String> parameterNames() {
        return java.util.Collections.unmodifiableSet(state.keySet());
    }

    /**
     * One update of every parameter whose gradient is given; gradients are read, not changed. Moments
     * of parameters missing from {@code grads} are dropped; new parameters start from zero moments.
     */
    public void step(Map<NamedParameter, NDArray> grads, float lr, NDManager stepManager) {
        steps++;
        Set<String> current = new java.util.HashSet<>();
        grads.keySet().forEach(p -> current.add(p.name()));
        for (Iterator<Map.Entry<String, Moments>> it = state.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Moments> e = it.next();
            if (!current.contains(e.getKey())) {
                e.getValue().close();
                it.remove();
            }
        }
        for (Map.Entry<NamedParameter, NDArray> e : grads.entrySet()) {
            NamedParameter p = e.getKey();
            NDArray w = p.parameter().getArray();
            NDArray g = e.getValue();
            Moments s = state.computeIfAbsent(p.name(), k -> zeroMoments(w));
            s.steps++;
            float bc1 = 1f - (float) Math.pow(beta1, s.steps);
            float bc2 = 1f - (float) Math.pow(beta2, s.steps);
            if (weightDecay > 0 && decays(p)) {
                w.muli(1f - lr * weightDecay);
            }
            // Each temporary is created from g (step-managed) or attached to the step manager.
            s.m.muli(beta1).addi(g.mul(1f - beta1));
            s.v.muli(beta2).addi(g.square().muli(1f - beta2));
            NDArray denom = s.v.div(bc2);
            denom.attach(stepManager);
            denom = denom.sqrt().addi(eps);
            NDArray update = s.m.div(denom);
            update.attach(stepManager);
            w.subi(update.muli(lr / bc1));
        }
    }

    private Moments zeroMoments(NDArray w) {
        Moments s = new Moments();
        s.m = stateManager.zeros(w.getShape());
        s.v = stateManager.zeros(w.getShape());
        return s;
    }

    /**
     * Zeroes both moments of the given elements of a parameter (row-major flat indices, int64), as
     * sparse fine-tuning does for the elements it regrows; the parameter's step count is kept. A
     * parameter without moments yet is left alone: its moments will start from zero anyway.
     */
    public void resetState(String paramName, NDArray flatIndices) {
        if (flatIndices.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException("resetState('" + paramName + "'): flat indices must be int64, got "
                    + flatIndices.getDataType());
        }
        Moments s = state.get(paramName);
        if (s == null || flatIndices.size() == 0) {
            return;
        }
        long size = s.m.size();
        try (NDManager tmp = stateManager.newSubManager()) {
            NDArray idx = flatIndices.flatten();
            idx.attach(tmp);
            long min = idx.min().getLong();
            long max = idx.max().getLong();
            if (min < 0 || max >= size) {
                throw new IllegalArgumentException("resetState('" + paramName + "'): flat indices must lie in [0, "
                        + size + "), got [" + min + ", " + max + "]");
            }
            s.m = zeroed(s.m, idx, tmp);
            s.v = zeroed(s.v, idx, tmp);
        }
    }

    /**
     * A copy of {@code a} with the elements at flat {@code idx} set to 0, moved to the state manager;
     * closes {@code a}. Indexed assignment creates temporaries in the manager of the array it writes
     * to, so the work happens on a copy owned by {@code tmp}.
     */
    private NDArray zeroed(NDArray a, NDArray idx, NDManager tmp) {
        NDArray flat = a.flatten();
        flat.attach(tmp);
        flat.set(new NDIndex("{}", idx), 0f);
        NDArray out = flat.reshape(a.getShape());
        out.attach(stateManager);
        a.close();
        return out;
    }

    /**
     * Moments and per-parameter step counts (PyTorch's {@code exp_avg}, {@code exp_avg_sq}, {@code step}),
     * copied: they stay valid after this optimizer is closed or steps again.
     */
    public Map<String, Tensor> state() {
        return state(false);
    }

    /**
     * As {@link #state()}, but the moments are views of the live arrays, valid only until the next step:
     * a checkpoint writes them at once, streaming native memory to the file without a heap copy.
     */
    Map<String, Tensor> stateViews() {
        return state(true);
    }

    private Map<String, Tensor> state(boolean views) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Moments> e : state.entrySet()) {
            String name = e.getKey();
            Moments s = e.getValue();
            out.put(EXP_AVG + name, views ? Tensor.view(s.m) : Tensor.of(s.m));
            out.put(EXP_AVG_SQ + name, views ? Tensor.view(s.v) : Tensor.of(s.v));
            try (NDArray count = stateManager.create(s.steps)) {
                out.put(STEP + name, Tensor.of(count));
            }
        }
        return out;
    }

    /**
     * Replaces all moments with {@link #state()}'s and sets the step count. A checkpoint written
     * before per-parameter step counts existed gives each parameter {@code stepCount}.
     */
    public void load(Map<String, Tensor> saved, long stepCount) {
        Map<String, Moments> loaded = new LinkedHashMap<>();
        Map<String, Long> counts = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : saved.entrySet()) {
                String key = e.getKey();
                if (key.startsWith(STEP)) {
                    counts.put(key.substring(STEP.length()), (long) e.getValue().scalar());
                } else if (key.startsWith(EXP_AVG_SQ)) {
                    loaded.computeIfAbsent(key.substring(EXP_AVG_SQ.length()), k -> new Moments()).v =
                            e.getValue().toNDArray(stateManager);
                } else if (key.startsWith(EXP_AVG)) {
                    loaded.computeIfAbsent(key.substring(EXP_AVG.length()), k -> new Moments()).m =
                            e.getValue().toNDArray(stateManager);
                } else {
                    throw new IllegalArgumentException("Unexpected optimizer state tensor '" + key + "'");
                }
            }
            for (Map.Entry<String, Moments> e : loaded.entrySet()) {
                if (e.getValue().m == null || e.getValue().v == null) {
                    throw new IllegalArgumentException("Optimizer state of '" + e.getKey()
                            + "' needs both exp_avg and exp_avg_sq");
                }
                e.getValue().steps = counts.getOrDefault(e.getKey(), stepCount);
            }
        } catch (RuntimeException e) {
            loaded.values().forEach(s -> {
                if (s.m != null) {
                    s.m.close();
                }
                if (s.v != null) {
                    s.v.close();
                }
            });
            throw e;
        }
        state.values().forEach(Moments::close);
        state.clear();
        state.putAll(loaded);
        this.steps = stepCount;
    }

    @Override
    public void close() {
        stateManager.close();
    }
}

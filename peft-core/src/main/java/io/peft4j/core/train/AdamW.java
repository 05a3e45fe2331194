package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019), as PyTorch's {@code AdamW}:
 * {@code w -= lr * wd * w}, then the bias-corrected Adam step. Written here rather than taken from
 * DJL so its moments can be saved in a checkpoint and every temporary freed each step.
 *
 * <p>The moments live in the optimizer's own manager; per-step temporaries go to the step manager
 * the caller passes, which it closes after the step.
 */
public final class AdamW implements AutoCloseable {
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final Set<String> noDecay;
    private final NDManager stateManager;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private long steps;

    /**
     * @param noDecay parameter names exempt from weight decay (transformers exempts biases and LayerNorm)
     */
    public AdamW(NDManager parent, float beta1, float beta2, float eps, float weightDecay, Set<String> noDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.noDecay = Set.copyOf(noDecay);
        this.stateManager = parent.newSubManager();
    }

    public long steps() {
        return steps;
    }

    /** One update of every parameter whose gradient is given; gradients are read, not changed. */
    public void step(Map<NamedParameter, NDArray> grads, float lr, NDManager stepManager) {
        steps++;
        float bc1 = 1f - (float) Math.pow(beta1, steps);
        float bc2 = 1f - (float) Math.pow(beta2, steps);
        for (Map.Entry<NamedParameter, NDArray> e : grads.entrySet()) {
            String name = e.getKey().name();
            NDArray w = e.getKey().parameter().getArray();
            NDArray g = e.getValue();
            NDArray mi = m.computeIfAbsent(name, k -> stateManager.zeros(w.getShape()));
            NDArray vi = v.computeIfAbsent(name, k -> stateManager.zeros(w.getShape()));
            if (weightDecay > 0 && !noDecay.contains(name)) {
                w.muli(1f - lr * weightDecay);
            }
            // Each temporary is created from g (step-managed) or attached to the step manager.
            mi.muli(beta1).addi(g.mul(1f - beta1));
            vi.muli(beta2).addi(g.square().muli(1f - beta2));
            NDArray denom = vi.div(bc2);
            denom.attach(stepManager);
            denom = denom.sqrt().addi(eps);
            NDArray update = mi.div(denom);
            update.attach(stepManager);
            w.subi(update.muli(lr / bc1));
        }
    }

    /** The moments as views of the live arrays (streamed, not copied), for a checkpoint written at once. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : m.keySet()) {
            out.put("exp_avg." + name, Tensor.view(m.get(name)));
            out.put("exp_avg_sq." + name, Tensor.view(v.get(name)));
        }
        return out;
    }

    /** Restores {@link #state()} and the step count. */
    public void load(Map<String, Tensor> state, long stepCount) {
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            NDArray array = e.getValue().toNDArray(stateManager);
            if (key.startsWith("exp_avg_sq.")) {
                replace(v, key.substring("exp_avg_sq.".length()), array);
            } else if (key.startsWith("exp_avg.")) {
                replace(m, key.substring("exp_avg.".length()), array);
            } else {
                array.close();
                throw new IllegalArgumentException("Unexpected optimizer state tensor '" + key + "'");
            }
        }
        this.steps = stepCount;
    }

    private static void replace(Map<String, NDArray> map, String name, NDArray array) {
        NDArray old = map.put(name, array);
        if (old != null) {
            old.close();
        }
    }

    @Override
    public void close() {
        stateManager.close();
    }
}

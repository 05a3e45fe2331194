package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/** The deltas attached to one linear layer, in the order they were added; for {@link LinearLayer} implementations. */
public final class WeightDeltas {
    private final List<WeightDelta> deltas = new ArrayList<>();

    public void add(WeightDelta delta) {
        deltas.add(Objects.requireNonNull(delta, "delta"));
    }

    public boolean remove(WeightDelta delta) {
        return deltas.remove(delta);
    }

    public List<WeightDelta> list() {
        return Collections.unmodifiableList(deltas);
    }

    public boolean isEmpty() {
        return deltas.isEmpty();
    }

    /**
     * {@code w + Σ deltas}, computed in {@code step}: the sum starts from the first delta (owned by
     * the step), never from {@code w}, which may be a parameter owned by the model's manager.
     */
    public NDArray addTo(NDArray w, NDManager step) {
        NDArray sum = null;
        for (WeightDelta d : deltas) {
            NDArray a = d.delta(step);
            if (a.getShape().dimension() != 2 || !a.getShape().equals(w.getShape())) {
                throw new IllegalStateException("A weight delta has shape " + a.getShape() + " but the weight is "
                        + w.getShape());
            }
            sum = sum == null ? a : sum.add(a);
        }
        return sum == null ? w : sum.add(w);
    }
}

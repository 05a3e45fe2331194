package io.peft4j.sparse.ltsft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.sparse.SparseDelta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Several sparse fine-tunings (e.g. a language one and a task one) added to one base model, in the
 * order given, and removable again. Adding writes {@code W + scatter(indices, values)} into each
 * weight, so the composed model runs at the base's cost; a dense tensor (a head) replaces the
 * parameter. {@link #remove} writes back the base's own values at every touched entry, so removal is
 * exact, not a subtraction that rounds.
 */
public final class AppliedSparseFineTunings {
    private final PeftModel model;
    /** The base's values at the union of touched entries, per parameter. */
    private final Map<String, SparseDelta> originals;
    /** The base's value of parameters a dense tensor replaced. */
    private final Map<String, Tensor> replaced;
    private boolean removed;

    private AppliedSparseFineTunings(PeftModel model, Map<String, SparseDelta> originals, Map<String, Tensor> replaced) {
        this.model = model;
        this.originals = originals;
        this.replaced = replaced;
    }

    /**
     * Adds each fine-tuning's deltas to {@code model}'s weights, in order. Everything is checked first
     * (each parameter exists with the delta's shape; no two fine-tunings carry the same dense
     * parameter), so a refused composition leaves the model unchanged.
     */
    public static AppliedSparseFineTunings apply(PeftModel model, List<SparseFineTuning> fineTunings) {
        List<String> problems = new ArrayList<>();
        Map<String, TreeSet<Long>> touched = new LinkedHashMap<>();
        Map<String, Integer> denseOwner = new LinkedHashMap<>();
        for (int i = 0; i < fineTunings.size(); i++) {
            SparseFineTuning ft = fineTunings.get(i);
            for (SparseDelta d : ft.deltas().values()) {
                String problem = shapeProblem(model, d.name(), d.shape());
                if (problem != null) {
                    problems.add("fine-tuning " + i + ": " + problem);
                    continue;
                }
                TreeSet<Long> idx = touched.computeIfAbsent(d.name(), k -> new TreeSet<>());
                Arrays.stream(d.indices()).forEach(idx::add);
            }
            for (Map.Entry<String, Tensor> e : ft.dense().entrySet()) {
                String problem = shapeProblem(model, e.getKey(), e.getValue().shape());
                Integer other = denseOwner.putIfAbsent(e.getKey(), i);
                if (problem != null) {
                    problems.add("fine-tuning " + i + ": " + problem);
                } else if (other != null) {
                    problems.add("fine-tunings " + other + " and " + i + " both carry a dense " + e.getKey());
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Cannot compose sparse fine-tunings: " + String.join("; ", problems));
        }
        Map<String, SparseDelta> originals = new LinkedHashMap<>();
        Map<String, Tensor> replaced = new LinkedHashMap<>();
        try (NDManager scratch = model.manager().newSubManager()) {
            for (Map.Entry<String, TreeSet<Long>> e : touched.entrySet()) {
                long[] idx = e.getValue().stream().mapToLong(Long::longValue).toArray();
                NDArray w = model.parameter(e.getKey()).parameter().getArray();
                NDArray copy = w.toType(ai.djl.ndarray.types.DataType.FLOAT32, true);
                copy.attach(scratch); // lands in the model's manager otherwise
                NDArray flat = copy.flatten();
                float[] values = flat.get(new NDIndex("{}", scratch.create(idx))).toFloatArray();
                originals.put(e.getKey(), SparseDelta.of(e.getKey(), w.getShape().getShape(), idx, values));
            }
        }
        for (String name : denseOwner.keySet()) {
            replaced.put(name, Tensor.of(model.parameter(name).parameter().getArray()));
        }
        for (SparseFineTuning ft : fineTunings) {
            for (SparseDelta d : ft.deltas().values()) {
                NDArray w = model.parameter(d.name()).parameter().getArray();
                try (NDManager scratch = model.manager().newSubManager()) {
                    NDArray updated = d.applyTo(w);
                    updated.attach(scratch);
                    w.set(new NDIndex("..."), updated);
                }
            }
            ft.dense().forEach((name, t) -> write(model, name, t));
        }
        return new AppliedSparseFineTunings(model, originals, replaced);
    }

    private static String shapeProblem(PeftModel model, String name, long[] shape) {
        if (!model.namedParameters().stream().anyMatch(p -> p.name().equals(name))) {
            return "the model has no parameter " + name;
        }
        long[] own = model.parameter(name).parameter().getShape().getShape();
        return Arrays.equals(own, shape) ? null
                : name + " has shape " + Arrays.toString(own) + ", the fine-tuning's " + Arrays.toString(shape);
    }

    private static void write(PeftModel model, String name, Tensor t) {
        NamedParameter p = model.parameter(name);
        NDArray w = p.parameter().getArray();
        try (NDManager scratch = model.manager().newSubManager()) {
            NDArray v = t.toNDArray(scratch).toType(w.getDataType(), false);
            w.set(new NDIndex("..."), v);
        }
    }

    /** Puts the base's own values back at every entry the fine-tunings touched; the model is the base again, bit for bit. */
    public void remove() {
        if (removed) {
            throw new IllegalStateException("These sparse fine-tunings were already removed");
        }
        for (SparseDelta original : originals.values()) {
            NDArray w = model.parameter(original.name()).parameter().getArray();
            try (NDManager scratch = model.manager().newSubManager()) {
                NDArray flat = w.flatten();
                flat.attach(scratch);
                NDArray copy = flat.duplicate();
                copy.attach(scratch);
                copy.set(new NDIndex("{}", original.indicesArray(scratch)),
                        original.valuesArray(scratch).toType(w.getDataType(), false));
                w.set(new NDIndex("..."), copy.reshape(w.getShape()));
            }
        }
        replaced.forEach((name, t) -> write(model, name, t));
        removed = true;
    }
}

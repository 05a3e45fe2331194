package io.peft4j.sparse.ltsft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.select.ElementSelection;
import io.peft4j.sparse.SparseDelta;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state LT-SFT keeps beside a model ({@link PeftModel#extension}): the weights before fine-tuning
 * ({@code θ0}, float32 copies on the model's device, as the reference implementation keeps its
 * original parameters), the chosen entries and their masks. Written by {@link LtSftTraining}, read by
 * {@link LtSftStrategy} and {@link SparseFineTuning#of}.
 */
public final class LotteryTicket implements AutoCloseable {
    private final NDManager manager;
    private final Map<String, NDArray> origin = new LinkedHashMap<>();
    private final Map<String, long[]> selected = new LinkedHashMap<>();
    private final Map<String, NDArray> masks = new LinkedHashMap<>();

    private LotteryTicket(NDManager modelManager) {
        this.manager = modelManager.newSubManager();
    }

    /** The model's ticket, created empty on first use. */
    public static LotteryTicket of(PeftModel model) {
        return model.extension(LotteryTicket.class, () -> new LotteryTicket(model.manager()));
    }

    /** Copies every parameter as {@code θ0}, dropping any earlier state. */
    void recordOrigin(PeftModel model) {
        clear();
        for (NamedParameter p : model.namedParameters()) {
            NDArray w = p.parameter().getArray();
            // An exact copy through the host: a device-side cast of an array to its own dtype may share its
            // storage (then θ0 would follow the training), and 0 + w would turn -0.0 into +0.0.
            NDArray copy;
            try (NDManager scratch = manager.newSubManager()) {
                NDArray f = w.getDataType() == DataType.FLOAT32 ? w : w.toType(DataType.FLOAT32, true);
                if (f != w) {
                    f.attach(scratch); // a float16 base's cast lands in the model's manager otherwise
                }
                copy = manager.create(f.toFloatArray(), w.getShape());
            }
            origin.put(p.name(), copy);
        }
    }

    /** Restores {@code θ0} from saved host values (a resumed run). */
    void restoreOrigin(Map<String, NDArray> values) {
        clear();
        values.forEach((name, v) -> {
            v.attach(manager);
            origin.put(name, v);
        });
    }

    boolean hasOrigin() {
        return !origin.isEmpty();
    }

    Map<String, NDArray> origin() {
        return origin;
    }

    /** Keeps the chosen entries and builds each parameter's 0/1 mask. */
    void select(Map<String, long[]> indices, PeftModel model) {
        masks.values().forEach(NDArray::close);
        masks.clear();
        selected.clear();
        for (Map.Entry<String, long[]> e : indices.entrySet()) {
            NDArray w = model.parameter(e.getKey()).parameter().getArray();
            NDArray mask = manager.zeros(w.getShape(), DataType.FLOAT32);
            try (NDManager scratch = manager.newSubManager()) {
                NDArray flat = mask.flatten();
                flat.attach(scratch);
                flat.set(new NDIndex("{}", scratch.create(e.getValue())), 1f);
                NDArray shaped = flat.reshape(w.getShape());
                shaped.attach(manager);
                mask.close();
                mask = shaped;
            }
            selected.put(e.getKey(), e.getValue().clone());
            masks.put(e.getKey(), mask);
        }
    }

    /** Chosen flat indices by parameter name (parameters with none chosen absent); empty before the selection. */
    public Map<String, long[]> selected() {
        return java.util.Collections.unmodifiableMap(selected);
    }

    boolean isSelected() {
        return !selected.isEmpty();
    }

    /** Writes {@code θ0} back into every parameter, in place (tied weights stay tied). */
    void resetToOrigin(PeftModel model) {
        for (NamedParameter p : model.namedParameters()) {
            NDArray theta0 = origin.get(p.name());
            if (theta0 == null) {
                throw new IllegalStateException("LT-SFT has no θ0 of " + p.name() + ": the model changed since phase 1 began");
            }
            p.parameter().getArray().set(new NDIndex("..."), theta0);
        }
    }

    /** Zeroes the gradient of every entry not chosen; adds {@code l1 * sign(θ − θ0)} on the chosen ones. */
    void maskGradient(NamedParameter p, NDArray gradient, float l1, NDManager step) {
        NDArray mask = masks.get(p.name());
        if (mask == null) {
            return; // a dense head
        }
        gradient.muli(mask);
        if (l1 > 0) {
            NDArray pull = step.zeros(gradient.getShape()).addi(p.parameter().getArray()).subi(origin.get(p.name()));
            gradient.addi(pull.sign().muli(mask).muli(l1));
        }
    }

    /** Puts {@code θ0} back at every entry not chosen, bit for bit: neither decay nor Adam may move them. */
    void restoreUnselected(NamedParameter p, NDManager step) {
        NDArray mask = masks.get(p.name());
        if (mask == null) {
            return;
        }
        NDArray w = p.parameter().getArray();
        NDArray keep = mask.gt(0f);
        keep.attach(step);
        NDArray kept = NDArrays.where(keep, w, origin.get(p.name()));
        kept.attach(step);
        w.set(new NDIndex("..."), kept);
    }

    /** The sparse difference {@code θ − θ0} of each parameter at its chosen entries. */
    public List<SparseDelta> deltas(PeftModel model) {
        if (selected.isEmpty()) {
            throw new IllegalStateException("LT-SFT has not chosen its entries yet: train phase 1 (full fine-tuning)"
                    + " and start phase 2 first");
        }
        List<SparseDelta> out = new java.util.ArrayList<>();
        try (NDManager scratch = manager.newSubManager()) {
            for (Map.Entry<String, long[]> e : selected.entrySet()) {
                NamedParameter p = model.parameter(e.getKey());
                NDArray diff = scratch.zeros(p.parameter().getShape()).addi(p.parameter().getArray())
                        .subi(origin.get(e.getKey())).flatten();
                NDArray values = diff.get(new NDIndex("{}", scratch.create(e.getValue())));
                out.add(SparseDelta.of(e.getKey(), p.parameter().getShape().getShape(), e.getValue(), values.toFloatArray()));
            }
        }
        return out;
    }

    /** Drops θ0, the selection and the masks. */
    void clear() {
        origin.values().forEach(NDArray::close);
        origin.clear();
        masks.values().forEach(NDArray::close);
        masks.clear();
        selected.clear();
    }

    @Override
    public void close() {
        clear();
        manager.close();
    }

    static ElementSelection choose(PeftModel model, List<NamedParameter> maskable, LtSftConfig config, Map<String, NDArray> origin) {
        long total = maskable.stream().mapToLong(NamedParameter::size).sum();
        long k = config.numTunable() >= 0 ? Math.min(config.numTunable(), total) : (long) Math.ceil(config.density() * total);
        try (NDManager scratch = model.manager().newSubManager()) {
            return ChangeRanking.topChanges(maskable, origin, k, scratch);
        }
    }
}

package io.peft4j.sparse.ltsft;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.sparse.SparseDelta;
import io.peft4j.sparse.SparseDeltaFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One sparse fine-tuning, the product of LT-SFT: a {@link SparseDelta} of {@code θ − θ0} per maskable
 * parameter, and the parameters trained in full (task heads) as dense tensors beside them. On disk it
 * is an adapter directory: {@code adapter_config.json} ({@code peft_type} {@code LT_SFT}) and
 * {@code adapter_model.safetensors} holding {@code base_model.model.<module>.sft_delta.indices/values}
 * for the deltas ({@link SparseDeltaFiles}) and {@code base_model.model.<parameter>} for dense tensors.
 * Several are added to one base with {@link AppliedSparseFineTunings#apply}.
 */
public final class SparseFineTuning {
    private final LtSftConfig config;
    private final Map<String, SparseDelta> deltas;
    private final Map<String, Tensor> dense;

    SparseFineTuning(LtSftConfig config, Map<String, SparseDelta> deltas, Map<String, Tensor> dense) {
        this.config = config;
        this.deltas = Collections.unmodifiableMap(new LinkedHashMap<>(deltas));
        this.dense = Collections.unmodifiableMap(new LinkedHashMap<>(dense));
    }

    /** What LT-SFT has trained into {@code model} so far (after phase 2 has begun): deltas against θ0 and the heads. */
    public static SparseFineTuning of(PeftModel model, LtSftConfig config) {
        LotteryTicket ticket = LotteryTicket.of(model);
        Map<String, SparseDelta> deltas = new LinkedHashMap<>();
        for (SparseDelta d : ticket.deltas(model)) {
            deltas.put(d.name(), d);
        }
        Set<String> maskable = new java.util.HashSet<>();
        config.maskable(model, model.family()).parameters(model).forEach(p -> maskable.add(p.name()));
        Map<String, Tensor> dense = new LinkedHashMap<>();
        for (NamedParameter p : model.namedParameters()) {
            if (!maskable.contains(p.name())) {
                dense.put(p.name(), Tensor.of(p.parameter().getArray()));
            }
        }
        return new SparseFineTuning(config, deltas, dense);
    }

    public LtSftConfig config() {
        return config;
    }

    /** The sparse differences by parameter name. */
    public Map<String, SparseDelta> deltas() {
        return deltas;
    }

    /** Parameters stored in full (heads), by parameter name. */
    public Map<String, Tensor> dense() {
        return dense;
    }

    /** Number of entries the deltas change. */
    public long deltaEntries() {
        return deltas.values().stream().mapToLong(SparseDelta::size).sum();
    }

    /** The tensors of {@code adapter_model.safetensors}: deltas under their reference keys, then the dense tensors. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> out = new LinkedHashMap<>(SparseDeltaFiles.toTensors(deltas.values()));
        dense.forEach((name, t) -> out.put(HfKeys.saved(name), t));
        return out;
    }

    /**
     * Reads saved tensors against {@code model}: every delta must belong to a parameter of the model's
     * shape, every other key must be a parameter of the model with its shape and a float dtype. All
     * problems are reported in one exception naming the keys.
     */
    public static SparseFineTuning fromTensors(LtSftConfig config, Map<String, Tensor> tensors, PeftModel model) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (NamedParameter p : model.namedParameters()) {
            shapes.put(p.name(), p.parameter().getShape().getShape());
        }
        Map<String, SparseDelta> deltas = SparseDeltaFiles.fromTensors(tensors, shapes::get);
        List<String> problems = new ArrayList<>();
        Map<String, Tensor> dense = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (SparseDeltaFiles.isDeltaKey(e.getKey())) {
                continue;
            }
            if (!e.getKey().startsWith(HfKeys.PREFIX)) {
                problems.add(e.getKey() + " does not start with " + HfKeys.PREFIX);
                continue;
            }
            String name = HfKeys.treeName(e.getKey());
            long[] shape = shapes.get(name);
            Tensor t = e.getValue();
            if (shape == null) {
                problems.add(e.getKey() + ": the model has no parameter " + name);
            } else if (!Arrays.equals(shape, t.shape())) {
                problems.add(e.getKey() + " has shape " + Arrays.toString(t.shape()) + ", the model's " + name + " "
                        + Arrays.toString(shape));
            } else if (t.dtype() != DType.F32 && t.dtype() != DType.F16) {
                problems.add(e.getKey() + " is " + t.dtype() + ", expected F32 or F16");
            } else if (deltas.containsKey(name)) {
                problems.add(e.getKey() + " is stored both densely and as a sparse delta");
            } else {
                dense.put(name, t);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("LT-SFT tensors do not fit " + model.architecture() + ": "
                    + String.join("; ", problems));
        }
        return new SparseFineTuning(config, deltas, dense);
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} into {@code dir}, each atomically. */
    public void save(Path dir) throws IOException {
        AdapterFiles.write(dir, config.toJson(), tensors());
    }

    /** Reads a saved sparse fine-tuning, checked against {@code model} (which it does not change). */
    public static SparseFineTuning load(Path dir, PeftModel model) throws IOException {
        PeftConfig config = AdapterFiles.readConfig(dir);
        if (!(config instanceof LtSftConfig)) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.CONFIG_FILE) + ": peft_type is '"
                    + config.peftType() + "', expected '" + LtSftConfig.TYPE + "'");
        }
        try {
            return fromTensors((LtSftConfig) config, AdapterFiles.readTensors(dir), model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS_FILE) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "SparseFineTuning[" + deltas.size() + " deltas, " + deltaEntries() + " entries, dense " + dense.keySet() + "]";
    }
}

package io.peft4j.sparse.spiel;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.select.Selector;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.core.tuner.AdapterTensors;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.core.tuner.ModulesToSave;
import io.peft4j.core.tuner.TargetMatcher;
import io.peft4j.core.tuner.TunerModel;
import io.peft4j.sparse.SparseDelta;
import io.peft4j.sparse.SparseDeltaFiles;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * SpIEL on a {@link PeftModel}: the adapter lifecycle of {@link TunerModel} (add, set, delete, merge,
 * unmerge, disable, save, load) over {@link SpielLinear} layers. Training needs {@link SpielSchedule}
 * as a trainer callback for the drop-and-regrow updates. Saved as {@link SparseDeltaFiles} writes
 * sparse deltas: per target {@code base_model.model.<module>.sft_delta.indices} and {@code .values}.
 * A view: everything lives in the model.
 */
public final class SpielModel extends TunerModel<SpielConfig, SpielLinear> {
    private static final Logger LOG = LoggerFactory.getLogger(SpielModel.class);
    /** Output heads never targeted by default: they are trained whole through modules_to_save. */
    private static final Set<String> HEADS = Set.of("classifier", "score", "lm_head");

    private SpielModel(PeftModel model) {
        super(model, SpielConfig.class, SpielLinear.class);
    }

    public static SpielModel of(PeftModel model) {
        return new SpielModel(model);
    }

    /** Adds {@code config} as adapter {@code "default"} (active). */
    public static SpielModel wrap(PeftModel model, SpielConfig config) {
        SpielModel m = of(model);
        m.addAdapter(DEFAULT_ADAPTER, config);
        return m;
    }

    /** {@link #of}{@code (model).loadAdapter(dir, "default", trainable)}. */
    public static SpielModel load(PeftModel model, Path dir, boolean trainable) throws IOException {
        SpielModel m = of(model);
        m.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        return m;
    }

    /** The linear layers the config targets, by module path (a layer SpIEL already wraps counts as its path). */
    Map<String, LinearLayer> targets(SpielConfig config) {
        List<String> toSave = ModulesToSave.resolve(model, config);
        Selector linear = (n, m) -> m instanceof LinearLayer && !HEADS.contains(n.substring(n.lastIndexOf('.') + 1));
        boolean none = config.targetModules() == null && config.targetModulesRegex() == null;
        Selector chosen = none ? linear.and((n, m) -> TargetMatcher.inLayers(config, n))
                : TargetMatcher.targets(config, linear, null);
        Map<String, Module> modules = model.namedModules();
        Map<String, LinearLayer> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String n = e.getKey();
            Module m = e.getValue();
            if (ModulesToSave.covers(toSave, n) || n.isEmpty()) {
                continue;
            }
            if (m instanceof SpielLinear && chosen.test(n, (Module) ((SpielLinear) m).base())) {
                out.put(n, ((SpielLinear) m).base());
            } else if (m instanceof LinearLayer && !AdapterLayer.isInside(modules, n) && chosen.test(n, m)) {
                out.put(n, (LinearLayer) m);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("SpIEL config targets no linear layer of " + model.architecture()
                    + " (target_modules " + (config.targetModulesRegex() != null ? config.targetModulesRegex()
                    : config.targetModules()) + ")");
        }
        return out;
    }

    @Override
    protected List<String> inject(String name, SpielConfig config) {
        Map<String, LinearLayer> targets = targets(config);
        Map<String, Long> sizes = new LinkedHashMap<>();
        targets.forEach((p, l) -> sizes.put(p, l.outFeatures() * l.inFeatures()));
        Map<String, Long> counts = DeltaBudget.allocate(sizes, config.density(), config.numTunableWeights());
        List<String> toSave = ModulesToSave.resolve(model, config);
        Random random = new Random(config.seed());
        long total = 0;
        for (Map.Entry<String, LinearLayer> t : targets.entrySet()) {
            int k = Math.toIntExact(counts.get(t.getKey()));
            long[] positions = DeltaBudget.randomPositions(sizes.get(t.getKey()), k, random);
            Arrays.sort(positions);
            layerAt(t.getKey(), t.getValue()).addAdapter(name, positions, new float[k], model.manager());
            total += k;
        }
        LOG.info("SpIEL adapter '{}' on {} layers: {} trainable values ({} of the targeted weights), modules_to_save {}",
                name, targets.size(), total, String.format("%.4g", (double) total / sizes.values().stream()
                        .mapToLong(Long::longValue).sum()), toSave);
        return toSave;
    }

    private SpielLinear layerAt(String path, LinearLayer base) {
        Module m = model.module(path);
        if (m instanceof SpielLinear) {
            return (SpielLinear) m;
        }
        SpielLinear layer = new SpielLinear(base);
        wrapLayer(path, layer);
        return layer;
    }

    @Override
    protected SpielConfig withInferenceMode(SpielConfig config, boolean on) {
        return config.toBuilder().inferenceMode(on).build();
    }

    /** The adapter's deltas by parameter name ({@code <module>.weight}), as host values. */
    public Map<String, SparseDelta> deltas(String adapter) {
        config(adapter);
        Map<String, SparseDelta> out = new LinkedHashMap<>();
        layers().forEach((path, l) -> {
            if (l.hasAdapter(adapter)) {
                out.put(path + ".weight", l.snapshot(adapter, path + ".weight"));
            }
        });
        return out;
    }

    /** The sparse deltas under the reference's keys, then the adapter's modules_to_save. */
    @Override
    public Map<String, Tensor> adapterState(String name) {
        config(name);
        Map<String, Tensor> out = new LinkedHashMap<>(SparseDeltaFiles.toTensors(deltas(name).values()));
        ModulesToSave.of(model).arrays(model, name).forEach((k, v) -> out.put(HfKeys.saved(k), Tensor.of(v)));
        return out;
    }

    /**
     * Adds adapter {@code name} from saved tensors: every target of the config must have its delta
     * (indices and values), modules_to_save their tensors, nothing else; all is checked first.
     */
    @Override
    public void loadAdapter(SpielConfig config, Map<String, Tensor> tensors, String name) {
        checkNewAdapterName(name);
        Map<String, LinearLayer> targets = targets(config);
        Map<String, Tensor> deltaTensors = new LinkedHashMap<>();
        Map<String, Tensor> dense = new LinkedHashMap<>();
        tensors.forEach((k, v) -> (SparseDeltaFiles.isDeltaKey(k) ? deltaTensors : dense).put(k, v));
        String what = "SpIEL adapter '" + name + "'";
        Map<String, SparseDelta> deltas = SparseDeltaFiles.fromTensors(deltaTensors, param -> {
            LinearLayer l = param.endsWith(".weight") ? targets.get(param.substring(0, param.length() - 7)) : null;
            return l == null ? null : new long[] {l.outFeatures(), l.inFeatures()};
        });
        Set<String> missing = new TreeSet<>();
        targets.keySet().forEach(p -> {
            if (!deltas.containsKey(p + ".weight")) {
                missing.add(SparseDeltaFiles.keyPrefix(p + ".weight") + SparseDeltaFiles.VALUES);
            }
        });
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(what + ": no sparse delta for targets " + missing);
        }
        List<String> toSave = ModulesToSave.resolve(model, config);
        Map<String, long[]> expected = new LinkedHashMap<>();
        ModulesToSave.shapes(model, toSave).forEach((k, v) -> expected.put(HfKeys.saved(k), v));
        AdapterTensors.check(model, expected, dense, what, config.baseModelNameOrPath());
        for (Map.Entry<String, LinearLayer> t : targets.entrySet()) {
            SparseDelta d = deltas.get(t.getKey() + ".weight");
            layerAt(t.getKey(), t.getValue()).addAdapter(name, d.indices(), d.values(), model.manager());
        }
        ModulesToSave.of(model).add(model, name, toSave);
        for (Map.Entry<String, Tensor> e : dense.entrySet()) {
            NDArray array = e.getValue().toFloat32NDArray(model.manager());
            ModulesToSave.of(model).set(model, name, HfKeys.treeName(e.getKey()), array);
        }
        register(name, config);
    }

    /** Trainable values of the active adapter, over all its layers. */
    public long trainableValues() {
        String a = requireActive();
        long n = 0;
        for (SpielLinear l : layers().values()) {
            if (l.hasAdapter(a)) {
                n += l.valuesOf(a).size();
            }
        }
        return n;
    }

    /** The active adapter's name (the one {@link SpielSchedule} updates). */
    String active() {
        return requireActive();
    }

    /** Layers holding the adapter, by path. */
    Map<String, SpielLinear> layersOf(String adapter) {
        Map<String, SpielLinear> out = new LinkedHashMap<>();
        layers().forEach((p, l) -> {
            if (l.hasAdapter(adapter)) {
                out.put(p, l);
            }
        });
        return out;
    }

    List<String> adapterNames() {
        return new ArrayList<>(adapters().keySet());
    }
}

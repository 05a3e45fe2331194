package io.peft4j.adapters.ia3;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.Names;
import io.peft4j.core.select.Selector;
import io.peft4j.core.tuner.AdapterLayer;
import io.peft4j.core.tuner.AdapterTensors;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.core.tuner.ModulesToSave;
import io.peft4j.core.tuner.TargetDefaults;
import io.peft4j.core.tuner.TargetMatcher;
import io.peft4j.core.tuner.TunerModel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * IA3 on a {@link PeftModel}: HF PEFT's {@code IA3Model} over the tuner base (add, set, delete, merge,
 * unmerge, disable, save, load). Targets and feed-forward modules not given come from the model's
 * family ({@code defaultTargetModules("IA3")}, {@code defaultFeedforwardModules("IA3")}) and are
 * recorded in the config, as HF PEFT fills them in. A view: everything lives in the model.
 */
public final class Ia3Model extends TunerModel<Ia3Config, Ia3Layer> {
    private static final Logger LOG = LoggerFactory.getLogger(Ia3Model.class);

    private Ia3Model(PeftModel model) {
        super(model, Ia3Config.class, Ia3Layer.class);
    }

    /** An IA3 view of a model (with or without adapters). */
    public static Ia3Model of(PeftModel model) {
        return new Ia3Model(model);
    }

    /** Adds {@code config} as adapter {@code "default"} and makes it active: HF PEFT's {@code get_peft_model}. */
    public static Ia3Model wrap(PeftModel model, Ia3Config config) {
        Ia3Model ia3 = of(model);
        ia3.addAdapter(DEFAULT_ADAPTER, config);
        return ia3;
    }

    /** {@link #of}{@code (model).loadAdapter(dir, "default", trainable)}. */
    public static Ia3Model load(PeftModel model, Path dir, boolean trainable) throws IOException {
        Ia3Model ia3 = of(model);
        ia3.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        return ia3;
    }

    /** Fills {@code target_modules} and {@code feedforward_modules} from the family when not given (HF PEFT's _prepare_adapter_config). */
    @Override
    protected Ia3Config resolveConfig(Ia3Config config) {
        boolean noTargets = config.targetModules() == null && config.targetModulesRegex() == null;
        if (!noTargets && !config.feedforwardModulesUnset()) {
            return config;
        }
        Ia3Config.Builder b = config.toBuilder();
        if (noTargets) {
            b.targetModules(TargetDefaults.of(model, Ia3Config.TYPE).toArray(new String[0]));
        }
        if (config.feedforwardModulesUnset()) {
            List<String> ff;
            try {
                ff = model.family().defaultFeedforwardModules(Ia3Config.TYPE);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("IA3 config has no feedforward_modules and " + model.architecture()
                        + " has no default; set feedforward_modules (an empty list for none)", e);
            }
            b.feedforwardModules(ff.toArray(new String[0]));
        }
        return b.build();
    }

    /** The modules a resolved config wraps, in model order; an error naming close module names when none. */
    private List<String> targets(Ia3Config config) {
        Map<String, Module> modules = model.namedModules();
        List<String> toSave = ModulesToSave.resolve(model, config);
        Selector linear = (n, m) -> m instanceof LinearLayer || m instanceof Ia3Layer;
        Selector chosen = TargetMatcher.targets(config, linear, null);
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || AdapterLayer.isInside(modules, name) || ModulesToSave.covers(toSave, name)
                    || !chosen.test(name, e.getValue())) {
                continue;
            }
            Module m = e.getValue();
            if (!(m instanceof LinearLayer || m instanceof Ia3Layer)) {
                throw new IllegalArgumentException("IA3 target '" + name + "' is a " + m.getClass().getSimpleName()
                        + "; IA3 supports linear layers only (name those inside it instead)");
            }
            if (m instanceof Ia3Layer && ((Ia3Layer) m).isFeedforward() != config.isFeedforward(name)) {
                throw new IllegalArgumentException("IA3 target '" + name + "' is already wrapped as "
                        + (((Ia3Layer) m).isFeedforward() ? "" : "not ") + "feed-forward; feedforward_modules must agree");
            }
            out.add(name);
        }
        if (out.isEmpty()) {
            String probe = config.targetModulesRegex() != null ? config.targetModulesRegex() : config.targetModules().get(0);
            throw new IllegalArgumentException("IA3 target_modules " + (config.targetModulesRegex() != null
                    ? config.targetModulesRegex() : config.targetModules()) + " match no linear layer of "
                    + model.architecture() + "; closest module names: "
                    + Names.closest(probe, Selector.all().and(linear).modules(model), 5));
        }
        return out;
    }

    @Override
    protected List<String> inject(String name, Ia3Config config) {
        List<String> targets = targets(config);
        List<String> toSave = ModulesToSave.resolve(model, config);
        injectInto(targets, name, config);
        LOG.info("IA3 adapter '{}' on {} layers ({} feed-forward), modules_to_save {}", name, targets.size(),
                targets.stream().filter(config::isFeedforward).count(), toSave);
        return toSave;
    }

    private void injectInto(List<String> targets, String name, Ia3Config config) {
        for (String t : targets) {
            Module m = model.module(t);
            Ia3Layer layer;
            if (m instanceof Ia3Layer) {
                layer = (Ia3Layer) m;
            } else {
                layer = new Ia3Layer(m, config.isFeedforward(t));
                wrapLayer(t, layer);
            }
            layer.addAdapter(name, config.initIa3Weights(), model.manager());
        }
    }

    @Override
    protected Ia3Config withInferenceMode(Ia3Config config, boolean on) {
        return config.toBuilder().inferenceMode(on).build();
    }

    /** The shapes of an adapter's vectors under their saved keys, for a config applied to this model. */
    private Map<String, long[]> expectedShapes(Ia3Config config, List<String> targets) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String t : targets) {
            Module m = model.module(t);
            LinearLayer l = (LinearLayer) (m instanceof Ia3Layer ? ((Ia3Layer) m).baseLayer() : m);
            long[] shape = config.isFeedforward(t) ? new long[] {1, l.inFeatures()} : new long[] {l.outFeatures(), 1};
            out.put(HfKeys.saved(t + ".ia3_l"), shape);
        }
        ModulesToSave.shapes(model, ModulesToSave.resolve(model, config)).forEach((k, v) -> out.put(HfKeys.saved(k), v));
        return out;
    }

    /**
     * Adds adapter {@code name} from tensors keyed as HF PEFT saves them ({@code base_model.model.<path>.ia3_l});
     * every key, shape and dtype is checked before anything changes.
     */
    @Override
    public void loadAdapter(Ia3Config config, Map<String, Tensor> tensors, String name) {
        checkNewAdapterName(name);
        Ia3Config resolved = resolveConfig(config);
        List<String> targets = targets(resolved);
        AdapterTensors.check(model, expectedShapes(resolved, targets), tensors, "IA3 adapter '" + name + "'",
                resolved.baseModelNameOrPath());
        List<String> toSave = ModulesToSave.resolve(model, resolved);
        injectInto(targets, name, resolved);
        ModulesToSave.of(model).add(model, name, toSave);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            NDArray array = e.getValue().toFloat32NDArray(model.manager());
            if (!setAdapterTensor(e.getKey(), array, name)) {
                ModulesToSave.of(model).set(model, name, HfKeys.treeName(e.getKey()), array);
            }
        }
        register(name, resolved);
    }
}

package io.peft4j.core.tuner;

import ai.djl.ndarray.NDArray;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.Names;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The modules each adapter trains in full ({@code modules_to_save}), with one copy of their
 * parameters per adapter as HF PEFT's {@code ModulesToSaveWrapper} keeps one module per adapter.
 * The model's own parameters hold the live adapter's copy (or the original weights while no adapter
 * is live); switching copies arrays in and out, so names and module types stay those of the base
 * model. Stored copies live in the model's manager and are freed with it.
 */
public final class ModulesToSave {
    private static final Logger LOG = LoggerFactory.getLogger(ModulesToSave.class);
    /** HF PEFT adds these to modules_to_save for sequence classification. */
    private static final List<String> SEQ_CLS_HEADS = List.of("classifier", "score");
    /** Original parameters by full parameter name, recorded when a module is first saved by some adapter. */
    private final Map<String, NDArray> original = new LinkedHashMap<>();
    /** Module paths per adapter. */
    private final Map<String, List<String>> paths = new LinkedHashMap<>();
    /** Parameters of adapters that are not live, by adapter then full parameter name. */
    private final Map<String, Map<String, NDArray>> stored = new LinkedHashMap<>();
    private String live;

    public static ModulesToSave of(PeftModel model) {
        return model.extension(ModulesToSave.class, ModulesToSave::new);
    }

    public List<String> paths(String adapter) {
        return paths.getOrDefault(adapter, List.of());
    }

    /** The parameters under a module path, in model order. */
    public static List<NamedParameter> parameters(PeftModel model, String path) {
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : model.namedParameters()) {
            if (p.moduleName().equals(path) || p.moduleName().startsWith(path + ".")) {
                out.add(p);
            }
        }
        return out;
    }

    /** Gives the adapter its own copy of each module, starting from the original weights. */
    public void add(PeftModel model, String adapter, List<String> modulePaths) {
        if (modulePaths.isEmpty()) {
            return;
        }
        Map<String, NDArray> own = new LinkedHashMap<>();
        for (String path : modulePaths) {
            for (NamedParameter p : parameters(model, path)) {
                if (!original.containsKey(p.name())) {
                    // Not saved by any adapter yet, so the live array is the original.
                    original.put(p.name(), p.parameter().getArray().duplicate());
                }
                own.put(p.name(), original.get(p.name()).duplicate());
            }
        }
        paths.put(adapter, List.copyOf(modulePaths));
        stored.put(adapter, own);
    }

    /** Makes the adapter's copies live (null: the original weights). */
    public void activate(PeftModel model, String adapter) {
        if (live != null && live.equals(adapter)) {
            return;
        }
        if (live != null) {
            Map<String, NDArray> keep = new LinkedHashMap<>();
            for (String path : paths(live)) {
                for (NamedParameter p : parameters(model, path)) {
                    keep.put(p.name(), p.parameter().getArray().duplicate());
                }
            }
            stored.put(live, keep);
        }
        Set<String> touched = new LinkedHashSet<>(original.keySet());
        Map<String, NDArray> next = adapter == null ? Map.of() : stored.getOrDefault(adapter, Map.of());
        for (String name : touched) {
            NDArray src = next.containsKey(name) ? next.get(name) : original.get(name);
            NamedParameter p = model.parameter(name);
            p.module().setParameterArray(p.localName(), src.duplicate());
        }
        if (adapter != null && stored.containsKey(adapter)) {
            closeAll(stored.remove(adapter));
            live = adapter;
        } else {
            live = null;
        }
    }

    /** The adapter's parameters by full name: the live arrays, or its stored copies. */
    public Map<String, NDArray> arrays(PeftModel model, String adapter) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (adapter.equals(live)) {
            for (String path : paths(adapter)) {
                for (NamedParameter p : parameters(model, path)) {
                    out.put(p.name(), p.parameter().getArray());
                }
            }
        } else {
            out.putAll(stored.getOrDefault(adapter, Map.of()));
        }
        return out;
    }

    /** Replaces the adapter's copy of one parameter (used when loading). */
    public void set(PeftModel model, String adapter, String name, NDArray array) {
        if (adapter.equals(live)) {
            NamedParameter p = model.parameter(name);
            p.module().setParameterArray(p.localName(), array);
        } else {
            NDArray old = stored.get(adapter).put(name, array);
            if (old != null) {
                old.close();
            }
        }
    }

    public void remove(PeftModel model, String adapter) {
        if (adapter.equals(live)) {
            activate(model, null);
        }
        closeAll(stored.remove(adapter));
        paths.remove(adapter);
        Set<String> stillUsed = new LinkedHashSet<>();
        for (List<String> ps : paths.values()) {
            for (String path : ps) {
                for (NamedParameter p : parameters(model, path)) {
                    stillUsed.add(p.name());
                }
            }
        }
        for (String name : new ArrayList<>(original.keySet())) {
            if (!stillUsed.contains(name)) {
                original.remove(name).close();
            }
        }
    }

    /** Forgets every copy, leaving the live arrays in the model (after merge-and-unload). */
    public void clear() {
        original.values().forEach(NDArray::close);
        original.clear();
        stored.values().forEach(ModulesToSave::closeAll);
        stored.clear();
        paths.clear();
        live = null;
    }

    /**
     * The module paths a config's {@code modules_to_save} names on this model (exact or dotted-suffix
     * matches, never inside an adapter layer; HF PEFT adds the usual heads for {@code SEQ_CLS}).
     */
    public static List<String> resolve(PeftModel model, TunerConfig config) {
        Map<String, Module> modules = model.namedModules();
        List<String> toSave = new ArrayList<>();
        for (String n : names(config)) {
            List<String> found = new ArrayList<>();
            for (String name : modules.keySet()) {
                if (!AdapterLayer.isInside(modules, name) && (name.equals(n) || name.endsWith("." + n))
                        && !covers(found, name)) {
                    found.add(name);
                }
            }
            if (found.isEmpty() && config.modulesToSave() != null && config.modulesToSave().contains(n)) {
                LOG.warn("modules_to_save entry '{}' matches no module of {}; closest: {}", n, model.architecture(),
                        Names.closest(n, modules.keySet(), 3));
            }
            for (String f : found) {
                if (!toSave.contains(f)) {
                    toSave.add(f);
                }
            }
        }
        return toSave;
    }

    /** The config's {@code modules_to_save} plus, for {@code SEQ_CLS}, HF PEFT's classifier head names. */
    public static List<String> names(TunerConfig config) {
        List<String> names = new ArrayList<>();
        if (config.modulesToSave() != null) {
            names.addAll(config.modulesToSave());
        }
        if ("SEQ_CLS".equals(config.taskType())) {
            for (String h : SEQ_CLS_HEADS) {
                if (!names.contains(h)) {
                    names.add(h);
                }
            }
        }
        return names;
    }

    /** The parameter shapes the adapter's copies of these modules have, by full parameter name. */
    public static Map<String, long[]> shapes(PeftModel model, List<String> modulePaths) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String path : modulePaths) {
            for (NamedParameter p : parameters(model, path)) {
                out.put(p.name(), p.parameter().getShape().getShape());
            }
        }
        return out;
    }

    /** True when {@code name} is one of the module paths or lies below one. */
    public static boolean covers(List<String> paths, String name) {
        for (String p : paths) {
            if (name.equals(p) || name.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    private static void closeAll(Map<String, NDArray> arrays) {
        if (arrays != null) {
            arrays.values().forEach(NDArray::close);
        }
    }

}

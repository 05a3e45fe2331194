package io.peft4j.core.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model as a tree of named modules: look-up, replacement and parameter listing by dotted name.
 * It owns the NDManager holding the weights; closing the tree frees them.
 */
public class ModuleTree implements AutoCloseable {
    private final Module root;
    private final NDManager manager;

    public ModuleTree(Module root, NDManager manager) {
        this.root = root;
        this.manager = manager;
    }

    public Module root() {
        return root;
    }

    /** The manager owning the model's parameters; new parameters a strategy creates belong here too. */
    public NDManager manager() {
        return manager;
    }

    /** Every module by dotted name, the root as {@code ""}, in depth-first registration order. */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", root, out);
        return out;
    }

    private static void walk(String prefix, Module m, Map<String, Module> out) {
        out.put(prefix, m);
        for (Map.Entry<String, Module> c : m.modules().entrySet()) {
            walk(prefix.isEmpty() ? c.getKey() : prefix + "." + c.getKey(), c.getValue(), out);
        }
    }

    /**
     * Every parameter with its dotted name, in module order. A tied parameter (one object registered
     * under several names) is listed once, under its first name, so it is counted, saved and updated
     * once.
     */
    public List<NamedParameter> namedParameters() {
        List<NamedParameter> out = new ArrayList<>();
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (NamedParameter p : allNames()) {
            if (seen.add(p.parameter())) {
                out.add(p);
            }
        }
        return out;
    }

    /** Every name of every parameter, tied ones included under each of their names. */
    private List<NamedParameter> allNames() {
        List<NamedParameter> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            for (String local : e.getValue().parameters().keySet()) {
                out.add(new NamedParameter(e.getKey(), e.getValue(), local));
            }
        }
        return out;
    }

    /** The parameter of that dotted name (a tied parameter answers to each of its names). */
    public NamedParameter parameter(String name) {
        List<NamedParameter> all = allNames();
        for (NamedParameter p : all) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        List<String> names = new ArrayList<>();
        all.forEach(p -> names.add(p.name()));
        throw new IllegalArgumentException("No parameter '" + name + "'; closest: " + Names.closest(name, names, 3));
    }

    /** The module of that dotted name, or an exception naming the closest existing names. */
    public Module module(String name) {
        Module m = namedModules().get(name);
        if (m == null) {
            throw new IllegalArgumentException("No module '" + name + "'; closest: "
                    + Names.closest(name, namedModules().keySet(), 3));
        }
        return m;
    }

    public boolean hasModule(String name) {
        return namedModules().containsKey(name);
    }

    /** Replaces the module at a dotted path and returns the one it replaced. */
    public Module replaceModule(String name, Module replacement) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("The root module cannot be replaced");
        }
        int dot = name.lastIndexOf('.');
        Module parent = dot < 0 ? root : module(name.substring(0, dot));
        String local = name.substring(dot + 1);
        if (parent.child(local) == null) {
            module(name); // throws with the closest names
        }
        return parent.replaceChild(local, replacement);
    }

    /** Freezes (or unfreezes) every parameter. */
    public void setAllTrainable(boolean trainable) {
        for (NamedParameter p : namedParameters()) {
            p.parameter().freeze(!trainable);
        }
    }

    public TrainableReport trainableReport() {
        long trainable = 0;
        long total = 0;
        for (NamedParameter p : namedParameters()) {
            long n = p.size();
            total += n;
            if (p.isTrainable()) {
                trainable += n;
            }
        }
        for (Module m : namedModules().values()) {
            total += m.heldWeightElements();
        }
        return new TrainableReport(trainable, total);
    }

    /** Bytes the model's weights take: parameter arrays plus quantized weights held outside parameters. */
    public long weightBytes() {
        long bytes = 0;
        for (NamedParameter p : namedParameters()) {
            if (p.parameter().isInitialized()) {
                ai.djl.ndarray.NDArray a = p.parameter().getArray();
                bytes += a.size() * a.getDataType().getNumOfBytes();
            }
        }
        for (Module m : namedModules().values()) {
            bytes += m.heldWeightBytes();
        }
        return bytes;
    }

    /** The trainable parameters, in module order. */
    public List<NamedParameter> trainableParameters() {
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : namedParameters()) {
            if (p.isTrainable()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Gives every parameter that has no array yet one from its initializer. */
    public void initializeMissing() {
        root.initializeMissing(manager);
    }

    @Override
    public void close() {
        manager.close();
    }
}

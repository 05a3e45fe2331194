package io.peft4j.core.model;

import ai.djl.nn.Parameter;

import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Parameter names that share one tensor, as transformers ties {@code lm_head.weight} to
 * {@code embed_tokens.weight}: the first name owns the tensor, the others are aliases. A strategy
 * must train and save such a tensor once.
 */
public final class TiedWeights {
    private final List<String> names;

    public TiedWeights(List<String> names) {
        if (names.size() < 2) {
            throw new IllegalArgumentException("tied weights need at least two parameter names, got " + names);
        }
        if (names.stream().distinct().count() != names.size()) {
            throw new IllegalArgumentException("tied weights list a parameter name twice: " + names);
        }
        this.names = List.copyOf(names);
    }

    public static TiedWeights of(String owner, String... aliases) {
        List<String> all = new ArrayList<>();
        all.add(owner);
        Collections.addAll(all, aliases);
        return new TiedWeights(all);
    }

    /** Every name, the owner first. */
    public List<String> names() {
        return names;
    }

    /** The name under which the tensor is saved and trained. */
    public String owner() {
        return names.get(0);
    }

    /** The other names of the same tensor. */
    public List<String> aliases() {
        return names.subList(1, names.size());
    }

    /**
     * The groups of parameter names in a tree that hold one tensor (the same {@link Parameter} or the
     * same array object), each group reported once, names in module order. The modules are walked
     * directly, so a tree whose parameter listing shows a shared tensor once still reveals its aliases.
     */
    public static List<TiedWeights> detect(ModuleTree tree) {
        Map<Object, List<String>> byTensor = new IdentityHashMap<>();
        Map<Object, Object> arrayToKey = new IdentityHashMap<>();
        List<Object> order = new ArrayList<>();
        for (Map.Entry<String, Module> m : tree.namedModules().entrySet()) {
            for (Map.Entry<String, Parameter> p : m.getValue().parameters().entrySet()) {
                Parameter param = p.getValue();
                Object key = param;
                if (param.isInitialized()) {
                    key = arrayToKey.computeIfAbsent(param.getArray(), a -> param);
                }
                String name = m.getKey().isEmpty() ? p.getKey() : m.getKey() + "." + p.getKey();
                List<String> names = byTensor.get(key);
                if (names == null) {
                    names = new ArrayList<>();
                    byTensor.put(key, names);
                    order.add(key);
                }
                if (!names.contains(name)) {
                    names.add(name);
                }
            }
        }
        List<TiedWeights> out = new ArrayList<>();
        for (Object key : order) {
            List<String> names = byTensor.get(key);
            if (names.size() > 1) {
                out.add(new TiedWeights(names));
            }
        }
        return out;
    }

    /**
     * Declared groups and detected ones as one list: a detected group whose names overlap a declared
     * one is merged into it (the declared owner stays first), so every tied tensor appears once.
     */
    public static List<TiedWeights> merge(List<TiedWeights> declared, List<TiedWeights> detected) {
        Map<String, List<String>> groupOf = new LinkedHashMap<>();
        List<List<String>> groups = new ArrayList<>();
        for (TiedWeights t : declared) {
            addGroup(t.names, groups, groupOf);
        }
        for (TiedWeights t : detected) {
            addGroup(t.names, groups, groupOf);
        }
        List<TiedWeights> out = new ArrayList<>();
        for (List<String> g : groups) {
            out.add(new TiedWeights(g));
        }
        return out;
    }

    private static void addGroup(List<String> names, List<List<String>> groups, Map<String, List<String>> groupOf) {
        List<String> target = null;
        for (String n : names) {
            if (groupOf.containsKey(n)) {
                target = groupOf.get(n);
                break;
            }
        }
        if (target == null) {
            target = new ArrayList<>();
            groups.add(target);
        }
        for (String n : names) {
            if (!target.contains(n)) {
                target.add(n);
            }
            groupOf.put(n, target);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TiedWeights && ((TiedWeights) o).names.equals(names);
    }

    @Override
    public int hashCode() {
        return Objects.hash(names);
    }

    @Override
    public String toString() {
        return "TiedWeights" + names;
    }
}

package io.peft4j.core.select;

import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.ModuleTree;
import io.peft4j.core.nn.NamedParameter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A composable predicate over named things of a model: modules (tested with their dotted path and
 * themselves) and parameters (tested with their dotted path and the module owning them).
 * Every strategy chooses what to touch through selectors, so its choice can be printed, tested and
 * combined: {@code Selector.kind(LINEAR).and(Selector.suffix("query", "value")).and(Selector.layers(3, 5))}.
 */
@FunctionalInterface
public interface Selector {
    /**
     * @param name the dotted name of a module or parameter
     * @param module the module itself, or for a parameter the module that owns it
     */
    boolean test(String name, Module module);

    default Selector and(Selector other) {
        Objects.requireNonNull(other);
        return (n, m) -> test(n, m) && other.test(n, m);
    }

    default Selector or(Selector other) {
        Objects.requireNonNull(other);
        return (n, m) -> test(n, m) || other.test(n, m);
    }

    default Selector negate() {
        return (n, m) -> !test(n, m);
    }

    /** The names of the matching modules, in tree order (the root, named "", is never matched). */
    default List<String> modules(ModuleTree tree) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : tree.namedModules().entrySet()) {
            if (!e.getKey().isEmpty() && test(e.getKey(), e.getValue())) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** The matching parameters, in tree order. */
    default List<NamedParameter> parameters(ModuleTree tree) {
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : tree.namedParameters()) {
            if (test(p.name(), p.module())) {
                out.add(p);
            }
        }
        return out;
    }

    static Selector all() {
        return (n, m) -> true;
    }

    static Selector none() {
        return (n, m) -> false;
    }

    /** Exactly one of the given dotted names. */
    static Selector exact(String... names) {
        Set<String> set = new HashSet<>(Arrays.asList(names));
        return (n, m) -> set.contains(n);
    }

    /**
     * Names equal to one of the suffixes or ending in {@code "." + suffix}, as HF PEFT matches a
     * {@code target_modules} list: {@code suffix("query")} matches {@code encoder.layer.0.attention.self.query}.
     */
    static Selector suffix(String... suffixes) {
        return suffix(Arrays.asList(suffixes));
    }

    static Selector suffix(Collection<String> suffixes) {
        List<String> list = List.copyOf(suffixes);
        return (n, m) -> {
            for (String s : list) {
                if (n.equals(s) || n.endsWith("." + s)) {
                    return true;
                }
            }
            return false;
        };
    }

    /** The whole name matches the regular expression (as HF PEFT's {@code re.fullmatch}). */
    static Selector regex(String regex) {
        Pattern p = Pattern.compile(regex);
        return (n, m) -> p.matcher(n).matches();
    }

    /** Modules of the given kinds; for parameters, the kind of the owning module. */
    static Selector kind(ModuleKind... kinds) {
        Set<ModuleKind> set = Set.of(kinds);
        return (n, m) -> set.contains(m.kind());
    }

    /** Things inside transformer layers {@code from..to} (inclusive), by {@link LayerIndex}. */
    static Selector layers(int from, int toInclusive) {
        return (n, m) -> {
            int i = LayerIndex.of(n);
            return i >= from && i <= toInclusive;
        };
    }

    /** Things inside one of the given transformer layers. */
    static Selector layerIn(Collection<Integer> indices) {
        Set<Integer> set = Set.copyOf(indices);
        return (n, m) -> set.contains(LayerIndex.of(n));
    }

    /** Things inside one of the given layers, where the layer list is named by {@code layersPattern} (e.g. "layer"). */
    static Selector layerIn(Collection<Integer> indices, String layersPattern) {
        Set<Integer> set = Set.copyOf(indices);
        return (n, m) -> set.contains(LayerIndex.of(n, layersPattern));
    }

    /**
     * Names at or below a path that {@code modules} matches: a parameter {@code classifier.weight}
     * is within {@code suffix("classifier")}, and {@code encoder.layer.5.output.dense.bias} within
     * {@code exact("encoder.layer.5")}. Module kind is not consulted for the ancestors.
     */
    static Selector within(Selector modules) {
        return (n, m) -> {
            String path = n;
            while (true) {
                if (modules.test(path, m)) {
                    return true;
                }
                int dot = path.lastIndexOf('.');
                if (dot < 0) {
                    return false;
                }
                path = path.substring(0, dot);
            }
        };
    }

    /** Parameters that are currently trainable. */
    static Selector trainable() {
        return (n, m) -> {
            int dot = n.lastIndexOf('.');
            String local = dot < 0 ? n : n.substring(dot + 1);
            return m.hasParameter(local) && m.parameters().get(local).requiresGradient();
        };
    }
}

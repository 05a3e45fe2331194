package io.peft4j.core.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.io.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Copies named tensors into a module tree's parameters, all or nothing: every name and shape is
 * checked before the first array is set, so a bad checkpoint leaves the model as it was.
 */
public final class WeightLoader {
    private WeightLoader() {}

    /**
     * Loads {@code weights} (names relative to {@code prefix}) into the tree.
     *
     * @param source names the checkpoint in errors
     * @param mayBeMissing parameters (full dotted names) that may stay as they are, e.g. a fresh head
     */
    public static void load(ModuleTree tree, Map<String, Tensor> weights, String prefix, String source,
            Predicate<String> mayBeMissing) {
        load(tree, weights, prefix, source, mayBeMissing, DataType.FLOAT32, (path, module) -> { });
    }

    /**
     * As {@link #load(ModuleTree, Map, String, String, Predicate)}, with the dtype chosen at load: the
     * weights {@link MixedPrecision#isLayerWeight} names land in {@code layerWeightType} (FLOAT32 or
     * FLOAT16) straight from the file, every other parameter in float32. Modules are filled one at a
     * time in tree order, and {@code loaded} is called on each as soon as all its parameters are set,
     * so that a caller can transform it (quantize a linear layer) before the next one is read: then no
     * more than one layer exists in float32 at once.
     */
    public static void load(ModuleTree tree, Map<String, Tensor> weights, String prefix, String source,
            Predicate<String> mayBeMissing, DataType layerWeightType, BiConsumer<String, Module> loaded) {
        if (layerWeightType != DataType.FLOAT32 && layerWeightType != DataType.FLOAT16) {
            throw new IllegalArgumentException("layer weights are held in FLOAT32 or FLOAT16, not " + layerWeightType);
        }
        Map<String, NamedParameter> params = new LinkedHashMap<>();
        for (NamedParameter p : tree.namedParameters()) {
            params.put(p.name(), p);
        }
        List<String> problems = new ArrayList<>();
        Set<String> unexpected = new TreeSet<>();
        Map<NamedParameter, Tensor> plan = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : weights.entrySet()) {
            String name = prefix + e.getKey();
            NamedParameter p = params.get(name);
            if (p == null) {
                unexpected.add(e.getKey());
                continue;
            }
            Shape want = p.parameter().getShape();
            Shape got = new Shape(e.getValue().shape());
            if (want != null && !want.equals(got)) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but parameter '" + name + "' has shape " + want);
            }
            plan.put(p, e.getValue());
        }
        Set<String> missing = new TreeSet<>();
        for (NamedParameter p : params.values()) {
            if (p.name().startsWith(prefix) && !plan.containsKey(p) && !mayBeMissing.test(p.name())) {
                missing.add(p.name());
            }
        }
        if (!unexpected.isEmpty()) {
            problems.add("unexpected tensors (no such parameter): " + unexpected);
        }
        if (!missing.isEmpty()) {
            problems.add("missing tensors for parameters: " + missing);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(source + " does not fit the model: " + String.join("; ", problems));
        }
        NDManager manager = tree.manager();
        // In tree order, grouped by module: a module is complete before the next one is read.
        Map<String, List<NamedParameter>> byModule = new LinkedHashMap<>();
        for (NamedParameter p : params.values()) {
            if (plan.containsKey(p)) {
                byModule.computeIfAbsent(p.moduleName(), k -> new ArrayList<>()).add(p);
            }
        }
        for (Map.Entry<String, List<NamedParameter>> m : byModule.entrySet()) {
            Module module = m.getValue().get(0).module();
            for (NamedParameter p : m.getValue()) {
                DataType type = MixedPrecision.isLayerWeight(p) ? layerWeightType : DataType.FLOAT32;
                module.setParameterArray(p.localName(), plan.get(p).toNDArray(manager, type));
            }
            loaded.accept(m.getKey(), module);
        }
    }
}

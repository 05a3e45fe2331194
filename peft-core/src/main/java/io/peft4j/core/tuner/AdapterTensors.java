package io.peft4j.core.tuner;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.NonFiniteValues;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Names;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks an adapter file's tensors against what a config makes of a model, before anything changes:
 * every key expected and present, no key left over, shapes equal, floating-point dtypes, finite values
 * (unless {@link NonFiniteValues#ALLOW_PROPERTY} allows others). One message gives each kind of problem
 * once with a count and a few names, and keys naming modules the model lacks get a hint that the adapter was made
 * for another base model.
 */
public final class AdapterTensors {
    /** Names listed per kind of problem at most: the count says how many there are. */
    static final int MAX_NAMES = 3;

    private AdapterTensors() {}

    /**
     * @param expected shapes by saved key (with HF PEFT's prefix)
     * @param what e.g. {@code LoRA adapter 'default'}
     */
    public static void check(PeftModel model, Map<String, long[]> expected, Map<String, Tensor> given, String what,
            String adapterBaseModel) {
        // One line per kind of mismatch, with a count and a few names: a rank mismatch repeats for every
        // adapted module, and listing each would make a message of kilobytes.
        Map<String, Set<String>> byKind = new LinkedHashMap<>();
        Set<String> unexpected = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : given.entrySet()) {
            long[] want = expected.get(e.getKey());
            if (want == null) {
                unexpected.add(e.getKey());
                continue;
            }
            if (!Arrays.equals(want, e.getValue().shape())) {
                byKind.computeIfAbsent("have shape " + Arrays.toString(e.getValue().shape()) + " but the model needs "
                        + Arrays.toString(want), k -> new TreeSet<>()).add(e.getKey());
            }
            DType dt = e.getValue().dtype();
            if (dt != DType.F32 && dt != DType.F16 && dt != DType.BF16 && dt != DType.F64) {
                byKind.computeIfAbsent("have dtype " + dt + ", expected a floating-point type", k -> new TreeSet<>())
                        .add(e.getKey());
            }
        }
        List<String> problems = new ArrayList<>();
        byKind.forEach((kind, names) -> problems.add(names.size() + " tensor" + (names.size() == 1 ? "" : "s")
                + " " + (names.size() == 1 ? kind.replaceFirst("^have", "has") : kind) + ": " + few(names)));
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(given.keySet());
        if (!missing.isEmpty()) {
            problems.add(missing.size() + " missing tensor" + (missing.size() == 1 ? "" : "s") + ": " + few(missing));
        }
        if (!unexpected.isEmpty()) {
            problems.add(unexpected.size() + " unexpected tensor" + (unexpected.size() == 1 ? "" : "s") + ": "
                    + few(unexpected) + foreignHint(model, unexpected, adapterBaseModel));
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(what + " does not fit " + model.architecture() + " (" + model.baseModelName()
                    + "): " + String.join("; ", problems));
        }
        try {
            NonFiniteValues.check(what, given);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (" + model.baseModelName() + ")", e);
        }
    }

    /** At most {@value #MAX_NAMES} names, then how many more. */
    static String few(Set<String> names) {
        List<String> shown = new ArrayList<>();
        for (String n : names) {
            if (shown.size() == MAX_NAMES) {
                break;
            }
            shown.add("'" + n + "'");
        }
        int more = names.size() - shown.size();
        return String.join(", ", shown) + (more > 0 ? " and " + more + " more" : "");
    }

    private static String parent(String path) {
        return path.substring(0, Math.max(0, path.lastIndexOf('.')));
    }

    /** When unexpected keys name modules the model lacks, the adapter was likely made for another model. */
    private static String foreignHint(PeftModel model, Set<String> unexpected, String adapterBaseModel) {
        Set<String> modules = model.namedModules().keySet();
        List<String> foreign = new ArrayList<>();
        for (String k : unexpected) {
            String path = HfKeys.treeName(k) != null ? HfKeys.treeName(k) : k;
            // <module>.<param> or <module>.<adapter part>.<param>: foreign when neither prefix is a module.
            String one = parent(path);
            String two = parent(one);
            if (!modules.contains(one) && !modules.contains(two)) {
                foreign.add(two.isEmpty() ? one : two);
            }
        }
        if (foreign.isEmpty()) {
            return "";
        }
        String first = foreign.get(0);
        return ". " + foreign.size() + " of them name modules this " + model.architecture() + " does not have (e.g. '"
                + first + "'; closest: " + Names.closest(first, modules, 3) + "): was the adapter made for another base"
                + " model? Its base_model_name_or_path is '" + adapterBaseModel + "', this model is '"
                + model.baseModelName() + "'";
    }
}

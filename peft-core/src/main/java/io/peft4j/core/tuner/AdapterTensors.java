package io.peft4j.core.tuner;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Names;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks an adapter file's tensors against what a config makes of a model, before anything changes:
 * every key expected and present, no key left over, shapes equal, floating-point dtypes. One message
 * lists every problem, and keys naming modules the model lacks get a hint that the adapter was made
 * for another base model.
 */
public final class AdapterTensors {
    private AdapterTensors() {}

    /**
     * @param expected shapes by saved key (with HF PEFT's prefix)
     * @param what e.g. {@code LoRA adapter 'default'}
     */
    public static void check(PeftModel model, Map<String, long[]> expected, Map<String, Tensor> given, String what,
            String adapterBaseModel) {
        List<String> problems = new ArrayList<>();
        Set<String> unexpected = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : given.entrySet()) {
            long[] want = expected.get(e.getKey());
            if (want == null) {
                unexpected.add(e.getKey());
                continue;
            }
            if (!Arrays.equals(want, e.getValue().shape())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but the model needs " + Arrays.toString(want));
            }
            DType dt = e.getValue().dtype();
            if (dt != DType.F32 && dt != DType.F16 && dt != DType.BF16 && dt != DType.F64) {
                problems.add("tensor '" + e.getKey() + "' has dtype " + dt + ", expected a floating-point type");
            }
        }
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(given.keySet());
        if (!missing.isEmpty()) {
            problems.add("missing tensors: " + missing);
        }
        if (!unexpected.isEmpty()) {
            problems.add("unexpected tensors: " + unexpected + foreignHint(model, unexpected, adapterBaseModel));
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(what + " does not fit " + model.architecture() + " (" + model.baseModelName()
                    + "): " + String.join("; ", problems));
        }
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

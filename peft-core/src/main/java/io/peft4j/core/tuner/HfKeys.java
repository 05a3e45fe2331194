package io.peft4j.core.tuner;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.AdapterKeyMapping;
import io.peft4j.core.model.ModelFamily;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How HF PEFT names an adapter's tensors in {@code adapter_model.safetensors}: the module path under
 * {@code base_model.model.} (PeftModel.base_model is the tuner, whose .model is the transformers
 * model), with the adapter's name taken out ({@code lora_A.default.weight -> lora_A.weight}).
 */
public final class HfKeys {
    /** The prefix of every saved key of a non-prompt-learning adapter. */
    public static final String PREFIX = "base_model.model.";

    /**
     * Leading parts of the key components a method adds below the module it adapts (LoRA's
     * {@code lora_A}, a wrapped layer's {@code base_layer}, HF PEFT's {@code modules_to_save} copies, ...):
     * what is left above them is the base model's module path.
     */
    private static final List<String> ADAPTER_PARTS = List.of("lora_", "ia3_", "base_layer", "modules_to_save",
            "original_module", "sft_", "adapter_", "hada_", "lokr_", "oft_", "boft_", "vera_");

    private HfKeys() {}

    /**
     * The base model's module path a saved key belongs to, e.g.
     * {@code base_model.model.encoder.layer.0.attention.self.query.lora_A.weight -> encoder.layer.0.attention.self.query};
     * null for a key without HF PEFT's prefix (prompt-learning tensors, FULL/FREEZE weights).
     */
    public static String savedModulePath(String savedKey) {
        String tree = treeName(savedKey);
        if (tree == null || tree.lastIndexOf('.') < 0) {
            return null;
        }
        String path = tree.substring(0, tree.lastIndexOf('.'));
        boolean stripped = false;
        while (path.contains(".") && isAdapterPart(path.substring(path.lastIndexOf('.') + 1))) {
            path = path.substring(0, path.lastIndexOf('.'));
            stripped = true;
        }
        // A sparse delta of a bias is keyed under the parameter (<module>.bias.sft_delta.values): its module is above it.
        if (stripped && path.endsWith(".bias")) {
            path = path.substring(0, path.length() - ".bias".length());
        }
        return path;
    }

    private static boolean isAdapterPart(String component) {
        for (String p : ADAPTER_PARTS) {
            if (component.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The saved tensors with their keys rewritten for {@code model}, as its family maps them: an adapter
     * saved on a bare encoder ({@code base_model.model.encoder...}, as sentence-transformers writes it)
     * loads onto a classifier built on that encoder ({@code bert.encoder...}). Unchanged when the keys
     * fit as saved or the model's family is unknown; an {@link IllegalArgumentException} with the
     * family's short diagnosis when no rewrite fits.
     */
    public static Map<String, Tensor> mapOnto(PeftModel model, Map<String, Tensor> tensors) {
        Set<String> paths = new LinkedHashSet<>();
        for (String k : tensors.keySet()) {
            String p = savedModulePath(k);
            if (p != null) {
                paths.add(p);
            }
        }
        if (paths.isEmpty() || model.namedModules().keySet().containsAll(paths)) {
            return tensors;
        }
        ModelFamily family;
        try {
            family = model.family();
        } catch (IllegalArgumentException unknownFamily) {
            return tensors; // no family knows this model: the strategy reports the unexpected keys itself
        }
        AdapterKeyMapping mapping = family.adapterKeyMapping(model, paths);
        if (mapping.isIdentity()) {
            return tensors;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> {
            String tree = treeName(k);
            out.put(tree != null && tree.startsWith(mapping.from()) ? saved(mapping.apply(tree)) : k, v);
        });
        return out;
    }

    /** {@code encoder.layer.0.x -> base_model.model.encoder.layer.0.x}. */
    public static String saved(String treeName) {
        return PREFIX + treeName;
    }

    /** The in-model name of a saved key, or null when the key lacks HF PEFT's prefix. */
    public static String treeName(String savedKey) {
        return savedKey.startsWith(PREFIX) ? savedKey.substring(PREFIX.length()) : null;
    }

    /** Takes the adapter's name out of a parameter path as HF PEFT's {@code get_peft_model_state_dict} does. */
    public static String withoutAdapter(String relative, String adapter) {
        String mid = "." + adapter;
        if (relative.endsWith(mid)) {
            return relative.substring(0, relative.length() - mid.length());
        }
        return relative.replace(mid + ".", ".");
    }
}

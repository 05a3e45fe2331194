package io.peft4j.core.model;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.ModuleTree;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How module paths saved in an adapter become module paths of the model it is loaded onto: one
 * prefix rewrite. An adapter trained on a bare encoder (sentence-transformers saves
 * {@code base_model.model.encoder.layer.0...}) fits a classifier built on that encoder by prepending
 * the classifier's encoder attribute ({@code "" -> "bert."}); one trained on the classifier fits the
 * bare encoder by the reverse, as long as it has no modules outside the encoder.
 */
public final class AdapterKeyMapping {
    private final String from;
    private final String to;

    private AdapterKeyMapping(String from, String to) {
        this.from = from;
        this.to = to;
    }

    /** Saved paths are used as they are. */
    public static AdapterKeyMapping identity() {
        return new AdapterKeyMapping("", "");
    }

    /** Replaces the leading {@code from} of every saved path by {@code to}. */
    public static AdapterKeyMapping rewrite(String from, String to) {
        return new AdapterKeyMapping(Objects.requireNonNull(from, "from"), Objects.requireNonNull(to, "to"));
    }

    /** The prefix removed from every saved path, e.g. {@code ""} or {@code "bert."}. */
    public String from() {
        return from;
    }

    /** The prefix put in its place, e.g. {@code "bert."} or {@code ""}. */
    public String to() {
        return to;
    }

    public boolean isIdentity() {
        return from.equals(to);
    }

    /** The model's module path for a saved one. */
    public String apply(String savedPath) {
        if (!savedPath.startsWith(from)) {
            throw new IllegalArgumentException("saved module path '" + savedPath + "' does not start with '" + from + "'");
        }
        return to + savedPath.substring(from.length());
    }

    /**
     * The rewrite under which every saved module path exists in {@code target}. Tried in order: the
     * paths as saved; with {@code basePath} (where the target keeps its base model, e.g. {@code bert})
     * prepended; with a known base attribute of the family (e.g. {@code bert.}) replaced by the
     * target's. When none fits: an {@link IllegalArgumentException} with one short diagnosis and the
     * model to load onto, naming one missing path and a count, never the whole list.
     *
     * @param basePath the target's base-model path, {@code ""} when the target is the base model
     * @param baseAttributes the names under which the family's task models keep the base model
     *     ({@code bert}, {@code roberta}), to recognise an adapter saved on such a model
     * @param layersPattern the name of the layer list ({@code layer} for BERT), to recognise a
     *     deeper model's adapter
     * @param targetLayers how many layers the target has
     */
    public static AdapterKeyMapping resolve(ModuleTree target, String basePath, Set<String> baseAttributes,
            Set<String> savedModulePaths, String layersPattern, int targetLayers) {
        if (savedModulePaths.isEmpty()) {
            return identity();
        }
        Set<String> modules = target.namedModules().keySet();
        String base = basePath.isEmpty() ? "" : basePath + ".";
        Set<AdapterKeyMapping> candidates = new LinkedHashSet<>();
        candidates.add(identity());
        candidates.add(rewrite("", base));
        for (String attribute : baseAttributes) {
            candidates.add(rewrite(attribute + ".", base));
        }
        AdapterKeyMapping best = null;
        List<String> bestMissing = null;
        for (AdapterKeyMapping c : candidates) {
            List<String> missing = new ArrayList<>();
            for (String s : new TreeSet<>(savedModulePaths)) {
                if (!s.startsWith(c.from) || !modules.contains(c.apply(s))) {
                    missing.add(s);
                }
            }
            if (missing.isEmpty()) {
                return c;
            }
            if (bestMissing == null || missing.size() < bestMissing.size()) {
                best = c;
                bestMissing = missing;
            }
        }
        throw new IllegalArgumentException(diagnose(target, base, savedModulePaths.size(), best, bestMissing,
                layersPattern, targetLayers));
    }

    private static String diagnose(ModuleTree target, String base, int saved, AdapterKeyMapping best,
            List<String> missing, String layersPattern, int targetLayers) {
        String model = target instanceof PeftModel ? ((PeftModel) target).architecture()
                : target.root().getClass().getSimpleName();
        String example = missing.get(0);
        String head = "The adapter does not fit this " + model + ": " + missing.size() + " of its " + saved
                + " module paths have no counterpart (e.g. '" + example + "'"
                + (best.isIdentity() || !example.startsWith(best.from) ? "" : ", looked up as '" + best.apply(example) + "'")
                + ")";
        int deepest = deepestLayer(missing, layersPattern);
        if (deepest >= targetLayers) {
            return head + ". It was saved for a model with at least " + (deepest + 1) + " layers and this one has "
                    + targetLayers + ": load it onto the base model named in its adapter_config.json "
                    + "(base_model_name_or_path).";
        }
        if (base.isEmpty() && !best.from.isEmpty() && !example.startsWith(best.from)) {
            return head + ". '" + example + "' lies outside the encoder: the adapter was saved on a task model "
                    + "built on this encoder; load it onto that model (for a classifier: Bert.sequenceClassifier "
                    + "with the same number of labels).";
        }
        return head + ". Load it onto the model it was saved for (base_model_name_or_path in its "
                + "adapter_config.json).";
    }

    /** The highest layer index among the paths, or -1. */
    private static int deepestLayer(List<String> paths, String layersPattern) {
        Pattern p = Pattern.compile("(?:^|\\.)" + Pattern.quote(layersPattern) + "\\.(\\d+)(?:\\.|$)");
        int deepest = -1;
        for (String s : paths) {
            Matcher m = p.matcher(s);
            if (m.find()) {
                deepest = Math.max(deepest, Integer.parseInt(m.group(1)));
            }
        }
        return deepest;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdapterKeyMapping && ((AdapterKeyMapping) o).from.equals(from)
                && ((AdapterKeyMapping) o).to.equals(to);
    }

    @Override
    public int hashCode() {
        return Objects.hash(from, to);
    }

    @Override
    public String toString() {
        return "'" + from + "' -> '" + to + "'";
    }
}

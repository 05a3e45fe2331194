package io.peft4j.core.tuner;

import io.peft4j.core.select.LayerIndex;
import io.peft4j.core.select.Selector;

import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * HF PEFT's rules for which modules a tuner config targets ({@code check_target_module_exists}), as
 * {@link Selector}s over dotted module names: a list entry matches a name equal to it or ending with
 * {@code "." + entry}; a string is a regex that must match the whole name; {@code layers_to_transform}
 * keeps names whose {@link LayerIndex} is listed; {@code exclude_modules} removes names by the same
 * rules. The module kinds a method can wrap (linear, embedding) are the method's to add.
 */
public final class TargetMatcher {
    private TargetMatcher() {}

    /**
     * The modules {@code config} targets by name and layer. {@code all-linear} and a missing
     * {@code target_modules} both need the caller: it passes {@code linear} (what counts as a linear
     * layer for it) and {@code defaults} (from {@link TargetDefaults}); either may be null when unused.
     */
    public static Selector targets(TunerConfig config, Selector linear, List<String> defaults) {
        String regex = config.targetModulesRegex();
        List<String> names = config.targetModules();
        Selector byName;
        if (TunerConfig.ALL_LINEAR.equals(regex)) {
            byName = linear;
        } else if (regex == null && names == null) {
            if (defaults == null) {
                throw new IllegalArgumentException(config.getClass().getSimpleName() + " has no target_modules and no"
                        + " default targets were given; set target_modules");
            }
            byName = Selector.suffix(defaults);
        } else {
            byName = names(names, regex);
        }
        Selector exclude = names(config.excludeModules(), config.excludeModulesRegex());
        return byName.and((n, m) -> inLayers(config, n)).and(exclude.negate());
    }

    /** A list of names/suffixes or a whole-name regex; neither given selects nothing. */
    public static Selector names(List<String> names, String regex) {
        if (regex != null) {
            return Selector.regex(regex);
        }
        return names == null ? Selector.none() : Selector.suffix(names);
    }

    public static boolean nameMatches(List<String> names, String regex, String moduleName) {
        return names(names, regex).test(moduleName, null);
    }

    /** True when the config's layer restriction (if any) admits this module name. */
    public static boolean inLayers(TunerConfig config, String moduleName) {
        List<Integer> layers = config.layersToTransform();
        if (layers == null) {
            return true;
        }
        Integer index = layerIndex(config.layersPattern(), moduleName);
        return index != null && layers.contains(index);
    }

    /** The module's layer index under HF PEFT's rules ({@link LayerIndex}), or null. */
    public static Integer layerIndex(List<String> patterns, String moduleName) {
        int i = LayerIndex.of(moduleName, patterns);
        return i < 0 ? null : i;
    }

    /**
     * The key of a per-module map ({@code rank_pattern}, {@code alpha_pattern}) that applies to a
     * module: an exact name first, else the first key that matches the end of the name at a component
     * boundary (as a regex), as HF PEFT's {@code get_pattern_key}.
     */
    public static String patternKey(Collection<String> keys, String moduleName) {
        if (keys.contains(moduleName)) {
            return moduleName;
        }
        for (String k : keys) {
            if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(moduleName).matches()) {
                return k;
            }
        }
        return null;
    }
}

package io.peft4j.lora;

import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HF PEFT's rules for which module names a LoRA config targets, applied to dotted module names:
 * a list entry matches a name equal to it or ending with {@code "." + entry}; a string is a regex
 * that must match the whole name; {@code layers_to_transform} keeps names whose layer index (the
 * number after {@code layers_pattern}, or after any component when no pattern is given) is listed.
 */
final class TargetMatcher {
    private static final Pattern ANY_LAYER = Pattern.compile(".*\\.[^.]*\\.(\\d+)\\.");

    private TargetMatcher() {}

    static boolean nameMatches(List<String> names, String regex, String moduleName) {
        if (regex != null) {
            return Pattern.matches(regex, moduleName);
        }
        if (names == null) {
            return false;
        }
        for (String n : names) {
            if (moduleName.equals(n) || moduleName.endsWith("." + n)) {
                return true;
            }
        }
        return false;
    }

    /** True when the config's layer restriction (if any) admits this module name. */
    static boolean inLayers(LoraConfig config, String moduleName) {
        List<Integer> layers = config.layersToTransform();
        if (layers == null) {
            return true;
        }
        Integer index = layerIndex(config.layersPattern(), moduleName);
        return index != null && layers.contains(index);
    }

    static Integer layerIndex(List<String> patterns, String moduleName) {
        // HF PEFT matches with re.match: anchored at the start, not at the end.
        if (patterns == null || patterns.isEmpty()) {
            Matcher m = ANY_LAYER.matcher(moduleName);
            return m.lookingAt() ? Integer.valueOf(m.group(1)) : null;
        }
        for (String p : patterns) {
            Matcher m = Pattern.compile(".*\\." + p + "\\.(\\d+)\\.").matcher(moduleName);
            if (m.lookingAt()) {
                return Integer.valueOf(m.group(1));
            }
        }
        return null;
    }

    /**
     * The {@code rank_pattern}/{@code alpha_pattern} key that applies to a module: an exact name
     * first, else the first key that matches the end of the name at a component boundary (as a regex).
     */
    static String patternKey(Collection<String> keys, String moduleName) {
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

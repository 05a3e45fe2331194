package io.peft4j.core.select;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The transformer-layer index in a dotted name, defined once for every strategy as HF PEFT reads
 * {@code layers_to_transform} ({@code check_target_module_exists}): with a {@code layers_pattern},
 * the number right after it ({@code re.match(".*\.<pattern>\.(\d+)\.", key)}); without one, HF's
 * {@code re.match(".*\.[^.]*\.(\d+)\.", key)}. Both regexes are greedy, so the LAST
 * {@code <name>.<digits>.} component wins: {@code model.layers.3.mlp.experts.7.up_proj} is layer 7
 * without a pattern and layer 3 with pattern {@code layers}. Give the pattern for mixture-of-experts
 * models. The name is read as if preceded by a dot, so lists at the root ({@code h.11.attn}) count too;
 * for names with a prefix (all of transformers') that changes nothing.
 */
public final class LayerIndex {
    private static final Pattern ANY = Pattern.compile(".*\\.[^.]*\\.(\\d+)\\.");

    private LayerIndex() {}

    /** The layer index of a name without a pattern, or -1 when it has none. */
    public static int of(String name) {
        return index(ANY, name);
    }

    /** The index after a layer-list name (HF PEFT's {@code layers_pattern}, a regex), or -1; null or "" as {@link #of(String)}. */
    public static int of(String name, String layersPattern) {
        if (layersPattern == null || layersPattern.isEmpty()) {
            return of(name);
        }
        return index(Pattern.compile(".*\\." + layersPattern + "\\.(\\d+)\\."), name);
    }

    /** The index after the first of the patterns that matches (HF tries them in order); null or empty as {@link #of(String)}. */
    public static int of(String name, List<String> layersPatterns) {
        if (layersPatterns == null || layersPatterns.isEmpty()) {
            return of(name);
        }
        for (String p : layersPatterns) {
            int i = of(name, p);
            if (i >= 0) {
                return i;
            }
        }
        return -1;
    }

    private static int index(Pattern p, String name) {
        Matcher m = p.matcher("." + name);
        // lookingAt: Python's re.match anchors at the start only.
        return m.lookingAt() ? Integer.parseInt(m.group(1)) : -1;
    }
}

package io.peft4j.core.select;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The transformer-layer index in a dotted name: the number after the layer list's name, as HF PEFT
 * reads {@code layers_to_transform} ({@code encoder.layer.3.…} is layer 3, {@code model.layers.0.…}
 * layer 0, {@code h.11.…} layer 11).
 */
public final class LayerIndex {
    private static final Pattern ANY = Pattern.compile("(?:^|\\.)(?:layer|layers|h|blocks|block)\\.(\\d+)(?:\\.|$)");

    private LayerIndex() {}

    /** The layer index of a name, or -1 when it lies outside the layer stack. */
    public static int of(String name) {
        Matcher m = ANY.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The index after a given layer-list name (HF PEFT's {@code layers_pattern}), or -1. */
    public static int of(String name, String layersPattern) {
        if (layersPattern == null || layersPattern.isEmpty()) {
            return of(name);
        }
        Matcher m = Pattern.compile("(?:^|\\.)" + Pattern.quote(layersPattern) + "\\.(\\d+)(?:\\.|$)").matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }
}

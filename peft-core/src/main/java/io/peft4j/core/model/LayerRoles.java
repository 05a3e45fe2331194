package io.peft4j.core.model;

import java.util.List;
import java.util.Objects;

/**
 * The modules of one transformer layer by the role they play, as full dotted module paths: the
 * attention projections, the feed-forward matrices and the normalization layers. Methods that choose
 * by category (HFT freezes half of each) read these instead of matching module names.
 *
 * <p>A fused module counts once in the role it serves (GPT-2's {@code c_attn} holds the query, key
 * and value projections as one {@code Conv1D}, and is one attention module).
 */
public final class LayerRoles {
    private final TransformerLayer layer;
    private final List<String> attention;
    private final List<String> feedForward;
    private final List<String> norms;

    public LayerRoles(TransformerLayer layer, List<String> attention, List<String> feedForward, List<String> norms) {
        this.layer = Objects.requireNonNull(layer, "layer");
        this.attention = List.copyOf(attention);
        this.feedForward = List.copyOf(feedForward);
        this.norms = List.copyOf(norms);
    }

    /** Module paths relative to {@code layer}'s path, made absolute. */
    public static LayerRoles relative(TransformerLayer layer, List<String> attention, List<String> feedForward,
            List<String> norms) {
        return new LayerRoles(layer, under(layer, attention), under(layer, feedForward), under(layer, norms));
    }

    private static List<String> under(TransformerLayer layer, List<String> paths) {
        return paths.stream().map(p -> layer.path() + "." + p).toList();
    }

    public TransformerLayer layer() {
        return layer;
    }

    /** The attention projections in the order q, k, v, o (or the fused input projection, then the output one). */
    public List<String> attention() {
        return attention;
    }

    /** The feed-forward matrices in the order they apply (Llama: gate, up, down; BERT: intermediate, output). */
    public List<String> feedForward() {
        return feedForward;
    }

    /** The normalization layers in the order they apply. */
    public List<String> norms() {
        return norms;
    }

    @Override
    public String toString() {
        return "LayerRoles" + layer + "{attention=" + attention + ", feedForward=" + feedForward + ", norms=" + norms + "}";
    }
}

package io.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.tuner.ConfigJson;

import java.util.List;
import java.util.Locale;

/**
 * {@code rope_scaling} of a Llama config: transformers' {@code linear}, {@code dynamic} (NTK-aware,
 * growing the base past {@code max_position_embeddings}) and {@code llama3} (per-frequency scaling
 * between {@code low_freq_factor} and {@code high_freq_factor}). Immutable.
 */
public final class RopeScaling {
    /** The scaling rules peft4j computes. */
    public enum Type {
        LINEAR, DYNAMIC, LLAMA3
    }

    private static final List<String> NAMES = List.of("linear", "dynamic", "llama3");

    private final Type type;
    private final float factor;
    private final float lowFreqFactor;
    private final float highFreqFactor;
    private final int originalMaxPositionEmbeddings;

    public RopeScaling(Type type, float factor, float lowFreqFactor, float highFreqFactor, int originalMaxPositionEmbeddings) {
        if (!(factor >= 1f)) {
            throw new IllegalArgumentException("rope_scaling.factor must be >= 1, got " + factor);
        }
        if (type == Type.LLAMA3 && (!(highFreqFactor > lowFreqFactor) || originalMaxPositionEmbeddings <= 0)) {
            throw new IllegalArgumentException("rope_scaling llama3 needs high_freq_factor > low_freq_factor and "
                    + "original_max_position_embeddings > 0, got " + highFreqFactor + ", " + lowFreqFactor + ", "
                    + originalMaxPositionEmbeddings);
        }
        this.type = type;
        this.factor = factor;
        this.lowFreqFactor = lowFreqFactor;
        this.highFreqFactor = highFreqFactor;
        this.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings;
    }

    public static RopeScaling linear(float factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling dynamic(float factor) {
        return new RopeScaling(Type.DYNAMIC, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(float factor, float lowFreqFactor, float highFreqFactor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }

    /** Null for a JSON null or absent field; {@code rope_type} or the older {@code type} names the rule. */
    static RopeScaling fromJson(JsonNode node, String file) {
        if (node == null || node.isNull()) {
            return null;
        }
        ConfigJson f = ConfigJson.of(node, file + " rope_scaling");
        String name = f.has("rope_type") ? f.text("rope_type") : f.text("type");
        if (name == null || "default".equals(name)) {
            return null;
        }
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("rope_scaling type '" + name + "' is not supported; supported are " + NAMES);
        }
        if (!f.has("factor")) {
            throw new IllegalArgumentException("rope_scaling '" + name + "' needs a factor");
        }
        float factor = f.floatField("factor", 1f);
        Type type = Type.valueOf(name.toUpperCase(Locale.ROOT));
        if (type == Type.LLAMA3) {
            return llama3(factor, f.floatField("low_freq_factor", 1f), f.floatField("high_freq_factor", 4f),
                    f.intField("original_max_position_embeddings", 8192));
        }
        return new RopeScaling(type, factor, 0, 0, 0);
    }

    ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("rope_type", type.name().toLowerCase(Locale.ROOT));
        n.put("factor", factor);
        if (type == Type.LLAMA3) {
            n.put("low_freq_factor", lowFreqFactor);
            n.put("high_freq_factor", highFreqFactor);
            n.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
        }
        return n;
    }

    public Type type() { return type; }
    public float factor() { return factor; }
    public float lowFreqFactor() { return lowFreqFactor; }
    public float highFreqFactor() { return highFreqFactor; }
    public int originalMaxPositionEmbeddings() { return originalMaxPositionEmbeddings; }
}

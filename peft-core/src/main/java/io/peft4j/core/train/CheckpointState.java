package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a {@link TrainerCallback} keeps across a checkpoint: named tensors (e.g. a sparse strategy's
 * selected indices) and a JSON object (e.g. its phase). Saved beside the trained weights as
 * {@code callback-<name>.safetensors} and {@code callback-<name>.json}. Immutable; the tensors are
 * host copies, so a state outlives the step that made it.
 */
public final class CheckpointState {
    private static final CheckpointState EMPTY = new CheckpointState(Map.of(), JsonNodeFactory.instance.objectNode());

    private final Map<String, Tensor> tensors;
    private final ObjectNode json;

    private CheckpointState(Map<String, Tensor> tensors, ObjectNode json) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.json = json.deepCopy();
    }

    public static CheckpointState empty() {
        return EMPTY;
    }

    /** Tensors by name (copy them from NDArrays with {@link Tensor#of}) and a JSON object (may be null: none). */
    public static CheckpointState of(Map<String, Tensor> tensors, JsonNode json) {
        if (json != null && !json.isObject()) {
            throw new IllegalArgumentException("A callback's checkpoint JSON must be an object, got " + json.getNodeType());
        }
        return new CheckpointState(tensors, json == null ? JsonNodeFactory.instance.objectNode() : (ObjectNode) json);
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The tensor of that name; a state without it is an error naming those it has. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("The checkpoint state has no tensor '" + name + "'; it has " + tensors.keySet());
        }
        return t;
    }

    /** A copy of the JSON object. */
    public ObjectNode json() {
        return json.deepCopy();
    }

    public boolean isEmpty() {
        return tensors.isEmpty() && json.isEmpty();
    }
}

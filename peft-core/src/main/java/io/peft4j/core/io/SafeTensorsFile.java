package io.peft4j.core.io;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The contents of a safetensors file: tensors by name (in file order) and the string metadata map. */
public final class SafeTensorsFile {
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    public SafeTensorsFile(Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Tensor get(String name) {
        return tensors.get(name);
    }
}

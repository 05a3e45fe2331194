package io.peft4j.core.select;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.nn.NamedParameter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Chosen elements per parameter, as sorted flat (row-major) indices. */
public final class ElementSelection {
    private final Map<String, long[]> indices;
    private final Map<String, Shape> shapes;

    ElementSelection(Map<String, long[]> indices, Map<String, Shape> shapes) {
        this.indices = Collections.unmodifiableMap(new LinkedHashMap<>(indices));
        this.shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
    }

    /** Flat indices by parameter name; parameters with nothing chosen are absent. */
    public Map<String, long[]> indices() {
        return indices;
    }

    public long[] indices(String parameterName) {
        long[] i = indices.get(parameterName);
        return i == null ? new long[0] : i.clone();
    }

    public long count() {
        long n = 0;
        for (long[] i : indices.values()) {
            n += i.length;
        }
        return n;
    }

    /**
     * A float mask (1 where chosen, 0 elsewhere) shaped like the parameter, owned by {@code manager}.
     * Built on the device from the chosen indices: the host never holds a tensor-sized array.
     */
    public NDArray mask(NamedParameter p, NDManager manager) {
        Shape shape = p.parameter().getShape();
        long[] idx = indices.get(p.name());
        try (NDManager scratch = manager.newSubManager()) {
            NDArray out = scratch.zeros(shape);
            if (idx != null && idx.length > 0) {
                // put writes by flat (row-major) index, the form indices are kept in
                out = out.put(scratch.create(idx), scratch.ones(new Shape(idx.length)));
            }
            out.attach(manager);
            return out;
        }
    }

    public Shape shape(String parameterName) {
        return shapes.get(parameterName);
    }
}

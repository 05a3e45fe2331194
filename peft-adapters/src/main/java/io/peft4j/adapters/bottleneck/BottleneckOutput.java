package io.peft4j.adapters.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.bert.BertResidualOutput;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleDict;

import java.util.Set;

/**
 * A BERT residual output ({@code attention.output} or {@code output}: {@code LayerNorm(dropout(dense(x)) + residual)})
 * with bottleneck adapters between the dropout and the norm, as AdapterHub's {@code BottleneckLayer}
 * puts them into {@code BertSelfOutput} and {@code BertOutput}. It takes the original's {@code dense}
 * and {@code LayerNorm} (same objects, same names) and adds {@code adapters.<name>}, so every name
 * below it is AdapterHub's. Without an active adapter it computes exactly what the original does.
 */
public final class BottleneckOutput extends Module {
    private final BertResidualOutput original;
    private final float dropout;
    private final ModuleDict adapters;
    private String active;
    private boolean disabled;

    BottleneckOutput(BertResidualOutput original) {
        this.original = original;
        this.dropout = original.dropout();
        registerModule("dense", original.child("dense"));
        registerModule("LayerNorm", original.child("LayerNorm"));
        this.adapters = registerModule("adapters", new ModuleDict());
    }

    /** The module this one replaced, with the same {@code dense} and {@code LayerNorm}. */
    BertResidualOutput original() {
        return original;
    }

    long hiddenSize() {
        return ((io.peft4j.core.nn.Linear) child("dense")).outFeatures();
    }

    void add(String name, BottleneckAdapter adapter) {
        adapters.put(name, adapter);
    }

    void remove(String name) {
        Module m = adapters.remove(name);
        closeParameters(m);
        if (name.equals(active)) {
            active = null;
        }
    }

    private static void closeParameters(Module m) {
        m.parameters().values().forEach(ai.djl.nn.Parameter::close);
        m.modules().values().forEach(BottleneckOutput::closeParameters);
    }

    public Set<String> adapterNames() {
        return adapters.names();
    }

    public boolean hasAdapter(String name) {
        return adapters.contains(name);
    }

    public BottleneckAdapter adapter(String name) {
        return (BottleneckAdapter) adapters.get(name);
    }

    void setActive(String name) {
        this.active = name;
    }

    void setDisabled(boolean off) {
        this.disabled = off;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = call(child("dense"), ps, inputs.get(0), training);
        h = Dropout.dropout(h, dropout, training).singletonOrThrow();
        NDArray input = inputs.get(1);
        if (disabled || active == null || !adapters.contains(active)) {
            return child("LayerNorm").forward(ps, new NDList(h.add(input)), training);
        }
        return new NDList(adapter(active).apply(ps, h, input, child("LayerNorm"), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[1]};
    }

    @Override
    public String toString() {
        return "BottleneckOutput(adapters=" + adapters.names() + ", active=" + active + ")";
    }
}

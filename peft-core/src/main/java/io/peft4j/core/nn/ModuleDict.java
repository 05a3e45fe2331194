package io.peft4j.core.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.Set;

/**
 * A container of named modules that can grow and shrink after construction, like PyTorch's
 * {@code nn.ModuleDict}: strategies keep one child per adapter name in it, which gives parameters
 * the names PyTorch models have ({@code lora_A.default.weight}). It is not callable itself.
 */
public final class ModuleDict extends Module {
    public <M extends Module> M put(String name, M module) {
        return registerModule(name, module);
    }

    public Module remove(String name) {
        return unregisterModule(name);
    }

    public Module get(String name) {
        return child(name);
    }

    public boolean contains(String name) {
        return child(name) != null;
    }

    public Set<String> names() {
        return modules().keySet();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("A ModuleDict holds modules by name and is not called itself");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("A ModuleDict has no output");
    }
}

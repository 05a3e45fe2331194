package io.peft4j.core.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/** Children named {@code 0, 1, 2, ...}, like PyTorch's {@code nn.ModuleList}; the owner runs them. */
public class ModuleList<M extends Module> extends Module {
    private final List<String> order = new ArrayList<>();

    public ModuleList(List<M> items) {
        for (int i = 0; i < items.size(); i++) {
            registerModule(Integer.toString(i), items.get(i));
            order.add(Integer.toString(i));
        }
    }

    public int size() {
        return order.size();
    }

    /** The i-th child as it is now (it may have been replaced). */
    public Module get(int i) {
        return child(order.get(i));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = inputs;
        for (String name : order) {
            x = child(name).forward(ps, x, training);
        }
        return x;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] s = inputShapes;
        for (String name : order) {
            s = child(name).getOutputShapes(s);
        }
        return s;
    }
}

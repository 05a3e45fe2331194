package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.model.GradientCheckpointing;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleList;

import java.util.ArrayList;
import java.util.List;

/** The stack of layers at {@code encoder.layer.N}. Inputs: hidden states, additive mask. */
public class BertEncoder extends Module {
    public BertEncoder(BertConfig c) {
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new BertLayer(c));
        }
        registerModule("layer", new ModuleList<>(layers));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ModuleList<?> layers = (ModuleList<?>) child("layer");
        NDArray mask = inputs.get(1);
        return new NDList(GradientCheckpointing.runLayers(layers.size(), inputs.get(0), training, true,
                (i, h) -> layers.get(i).forward(ps, new NDList(h, mask), training).get(0)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

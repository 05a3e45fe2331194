package io.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.MixedPrecision;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;

/**
 * An output head whose {@code weight} is the input embedding's parameter itself
 * ({@code tie_word_embeddings}): {@code logits = h E^T}. Of kind {@link ModuleKind#OTHER}, not a linear
 * layer, so that adapters never wrap (or quantize) a weight the embedding also uses.
 */
public class TiedLmHead extends Module {
    private final long vocab;

    public TiedLmHead(Parameter embeddingWeight) {
        this.vocab = embeddingWeight.getShape().get(0);
        registerParameter("weight", embeddingWeight);
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.OTHER;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = inputs.singletonOrThrow();
        NDArray w = MixedPrecision.forCompute(param("weight"), h.getDataType(), h.getManager());
        return new NDList(ai.djl.nn.core.Linear.linear(h, w, null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(vocab)};
    }
}

package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/** A lookup table {@code weight[numEmbeddings, dim]} indexed by integer ids. */
public class Embedding extends Module {
    private final long numEmbeddings;
    private final long dim;

    public Embedding(long numEmbeddings, long dim) {
        this.numEmbeddings = numEmbeddings;
        this.dim = dim;
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(numEmbeddings, dim), new NormalInitializer(0.02f));
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.EMBEDDING;
    }

    public long numEmbeddings() {
        return numEmbeddings;
    }

    public long dim() {
        return dim;
    }

    public NDArray weight() {
        return param("weight");
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        NDList rows = ai.djl.nn.core.Embedding.embedding(ids, weight(), ai.djl.ndarray.types.SparseFormat.DENSE);
        if (weight().getDataType() != MixedPrecision.FROZEN_WEIGHT_TYPE) {
            return rows;
        }
        // A frozen table stored in float16 (MixedPrecision): only the looked-up rows are widened.
        return new NDList(MixedPrecision.forCompute(rows.singletonOrThrow(), MixedPrecision.COMPUTE_TYPE, ids.getManager()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(dim)};
    }

    @Override
    public String toString() {
        return "Embedding(" + numEmbeddings + ", " + dim + ")";
    }
}

package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Module;

/**
 * What one prompt-learning adapter trains: a table of {@code rows} virtual-token vectors in a child
 * {@code embedding} (HF PEFT's {@code prompt_encoder.<adapter>.embedding.weight}), optionally passed
 * through an encoder. {@link #output} is the vectors a forward uses, {@code [rows, width]}:
 * token embeddings for prompt tuning and P-tuning, per-layer keys and values for prefix tuning.
 */
abstract class VirtualTokenEncoder extends Module {
    private final int rows;

    VirtualTokenEncoder(int rows, long tableWidth) {
        this.rows = rows;
        registerModule("embedding", new Embedding(rows, tableWidth));
    }

    final int rows() {
        return rows;
    }

    /** The width of {@link #output}'s rows. */
    abstract long width();

    final Embedding embedding() {
        return (Embedding) child("embedding");
    }

    /** The table's rows, looked up with ids made in {@code step} so that the result belongs to the step. */
    final NDArray table(ParameterStore ps, NDManager step, boolean training) {
        NDArray ids = step.arange(0, rows, 1, DataType.INT64);
        return call(embedding(), ps, ids, training);
    }

    /** The virtual-token vectors {@code [rows, width]}, differentiable in this encoder's parameters. */
    abstract NDArray output(ParameterStore ps, NDManager step, boolean training);

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(output(ps, inputs.head().getManager(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(rows, width())};
    }
}

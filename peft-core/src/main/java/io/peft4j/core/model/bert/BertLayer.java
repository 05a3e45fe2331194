package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * One encoder layer: {@code attention.self}, {@code attention.output}, {@code intermediate.dense}
 * (GELU) and {@code output}. Inputs and outputs: hidden states and the additive attention mask.
 */
public class BertLayer extends Module {

    /** transformers' {@code BertAttention}: a container of {@code self} and {@code output}. */
    public static final class Attention extends Module {
        Attention(BertConfig c) {
            registerModule("self", new BertSelfAttention(c));
            registerModule("output", new BertResidualOutput(c.hiddenSize(), c));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray context = child("self").forward(ps, in, training).singletonOrThrow();
            return child("output").forward(ps, new NDList(context, in.get(0)), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {inputShapes[0]};
        }
    }

    /** transformers' {@code BertIntermediate}: {@code gelu(dense(x))}. */
    public static final class Intermediate extends Module {
        Intermediate(BertConfig c) {
            registerModule("dense", new Linear(c.hiddenSize(), c.intermediateSize(), true));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            // transformers' "gelu" is the exact erf form, which is what libtorch's gelu computes.
            return new NDList(Activation.gelu(call(child("dense"), ps, in.singletonOrThrow(), training)));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return child("dense").getOutputShapes(inputShapes);
        }
    }

    public BertLayer(BertConfig c) {
        registerModule("attention", new Attention(c));
        registerModule("intermediate", new Intermediate(c));
        registerModule("output", new BertResidualOutput(c.intermediateSize(), c));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray maskBias = inputs.get(1);
        NDArray attended = child("attention").forward(ps, inputs, training).singletonOrThrow();
        NDArray inner = call(child("intermediate"), ps, attended, training);
        NDArray out = child("output").forward(ps, new NDList(inner, attended), training).singletonOrThrow();
        return new NDList(out, maskBias);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}

package io.peft4j.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Module;

/** transformers' {@code GPT2MLP}: {@code c_proj(gelu_new(c_fc(x)))}. */
public class Gpt2Mlp extends Module {
    /** {@code sqrt(2 / pi)}, the constant of the tanh approximation. */
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    public Gpt2Mlp(Gpt2Config c) {
        registerModule("c_fc", new Conv1D(c.hiddenSize(), c.nInner()));
        registerModule("c_proj", new Conv1D(c.nInner(), c.hiddenSize()));
    }

    /**
     * transformers' {@code NewGELUActivation}: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))},
     * written out (rather than DJL's GELU, which is the erf form) so it is the function GPT-2 was trained with.
     */
    static NDArray geluNew(NDArray x) {
        NDArray inner = x.pow(scalar(x, 3f)).mul(scalar(x, 0.044715f)).add(x).mul(scalar(x, SQRT_2_OVER_PI));
        return inner.tanh().add(scalar(x, 1f)).mul(x).mul(scalar(x, 0.5f));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = call(child("c_fc"), ps, inputs.singletonOrThrow(), training);
        return new NDList(call(child("c_proj"), ps, geluNew(h), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}

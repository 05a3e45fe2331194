package io.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.UniformInitializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code torch.nn.LSTM(input, hidden, num_layers, dropout, bidirectional=True)} over one sequence
 * {@code [T, input]} → {@code [T, 2 * hidden]}, with PyTorch's parameter names ({@code weight_ih_l0},
 * {@code weight_hh_l0_reverse}, ...), gate order (input, forget, cell, output) and initialisation
 * U(-1/sqrt(hidden), 1/sqrt(hidden)). Written from linear maps rather than with DJL's {@code LSTM}
 * block because that block keeps its parameters in one fused layout outside the named module tree;
 * here every weight has the name and shape HF PEFT's {@code lstm_head} has, and the recurrence
 * (a few virtual tokens long) is cheap. Dropout applies between layers while training, as PyTorch's.
 */
final class BidirectionalLstm extends Module {
    private final int hidden;
    private final int layers;
    private final float dropout;

    BidirectionalLstm(int input, int hidden, int layers, float dropout) {
        this.hidden = hidden;
        this.layers = layers;
        this.dropout = dropout;
        UniformInitializer init = new UniformInitializer((float) (1 / Math.sqrt(hidden)));
        for (int l = 0; l < layers; l++) {
            long in = l == 0 ? input : 2L * hidden;
            for (String dir : new String[] {"", "_reverse"}) {
                registerParameter("weight_ih_l" + l + dir, Parameter.Type.WEIGHT, new Shape(4L * hidden, in), init);
                registerParameter("weight_hh_l" + l + dir, Parameter.Type.WEIGHT, new Shape(4L * hidden, hidden), init);
                registerParameter("bias_ih_l" + l + dir, Parameter.Type.BIAS, new Shape(4L * hidden), init);
                registerParameter("bias_hh_l" + l + dir, Parameter.Type.BIAS, new Shape(4L * hidden), init);
            }
        }
    }

    /** @param x {@code [T, input]}, owned by the step (results follow their first operand's manager) */
    NDArray run(NDArray x, boolean training) {
        NDArray out = x;
        for (int l = 0; l < layers; l++) {
            if (l > 0) {
                out = Dropout.dropout(out, dropout, training).singletonOrThrow();
            }
            NDArray forward = direction(out, l, "", false);
            NDArray backward = direction(out, l, "_reverse", true);
            out = forward.concat(backward, 1);
        }
        return out;
    }

    private NDArray direction(NDArray x, int layer, String dir, boolean reverse) {
        NDManager step = x.getManager();
        long t = x.getShape().get(0);
        // The input part of every gate at once: [T, 4h]; the recurrent part step by step.
        NDArray xw = ai.djl.nn.core.Linear.linear(x, param("weight_ih_l" + layer + dir), param("bias_ih_l" + layer + dir))
                .singletonOrThrow();
        NDArray h = step.zeros(new Shape(1, hidden));
        NDArray c = step.zeros(new Shape(1, hidden));
        List<NDArray> outputs = new ArrayList<>();
        for (long i = 0; i < t; i++) {
            long pos = reverse ? t - 1 - i : i;
            NDArray gates = ai.djl.nn.core.Linear.linear(h, param("weight_hh_l" + layer + dir), param("bias_hh_l" + layer + dir))
                    .singletonOrThrow().add(xw.get(pos).reshape(1, 4L * hidden));
            NDList g = gates.split(4, 1);
            NDArray in = Activation.sigmoid(g.get(0));
            NDArray forget = Activation.sigmoid(g.get(1));
            NDArray cell = Activation.tanh(g.get(2));
            NDArray out = Activation.sigmoid(g.get(3));
            c = forget.mul(c).add(in.mul(cell));
            h = out.mul(Activation.tanh(c));
            outputs.add(h);
        }
        if (reverse) {
            Collections.reverse(outputs);
        }
        return NDArrays.concat(new NDList(outputs), 0);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(run(inputs.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), 2L * hidden)};
    }
}

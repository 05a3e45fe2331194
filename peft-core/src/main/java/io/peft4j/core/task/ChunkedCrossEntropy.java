package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * Next-token cross-entropy through an affine output head, {@code chunk} positions at a time, so that
 * no {@code [B, T, vocab]} array outlives its chunk: the logits, log-softmax and its gradient of one
 * chunk are computed outside autograd, turned at once into the gradient for the chunk's hidden states
 * and for the head, and freed. The returned loss carries these gradients through a surrogate
 * {@code <hidden, G_h> + <W, G_W> + <b, G_b>} whose value is replaced by the true loss. Autograd would
 * instead keep every chunk's log-softmax for the backward pass, i.e. the whole {@code [B, T, vocab]}
 * array the chunking is meant to avoid; DJL has no activation checkpointing to recompute it.
 *
 * <p>The head's effective weight is read through the head itself ({@code head(I) - head(0)}), so a
 * tied, quantized or adapter-carrying head needs no special case and receives its gradients through
 * its own differentiable path.
 */
final class ChunkedCrossEntropy {
    /** Sums over the non-ignored positions of one batch. */
    static final class Result {
        final NDArray loss;
        final double nllSum;
        final long tokens;
        final long correct;

        Result(NDArray loss, double nllSum, long tokens, long correct) {
            this.loss = loss;
            this.nllSum = nllSum;
            this.tokens = tokens;
            this.correct = correct;
        }
    }

    private ChunkedCrossEntropy() {}

    /**
     * @param hidden hidden states {@code [B, T', H]} already aligned with {@code labels [B, T']} (shifted)
     * @param differentiable whether the returned loss must carry gradients
     */
    static Result compute(CausalLanguageModel lm, ParameterStore ps, NDArray hidden, NDArray labels, int chunk,
            boolean training, boolean differentiable) {
        NDManager step = hidden.getManager();
        long b = hidden.getShape().get(0);
        long t = hidden.getShape().get(1);
        long h = hidden.getShape().get(2);
        NDArray valid = labels.neq(CausalLanguageModeling.IGNORE_INDEX);
        long tokens = valid.toType(DataType.INT64, false).sum().getLong();
        NDArray safeLabels = labels.mul(valid.toType(DataType.INT64, false));
        NDArray validF = valid.toType(DataType.FLOAT32, false);

        NDArray eye = step.eye((int) h);
        NDArray biasLive = lm.lmHead(ps, step.zeros(new Shape(1, h)), training);
        NDArray weightTLive = lm.lmHead(ps, eye, training).sub(biasLive);
        NDArray weightT = weightTLive.stopGradient();
        NDArray bias = biasLive.stopGradient();
        long vocab = weightT.getShape().get(1);

        NDArray gradWeightT = differentiable ? step.zeros(new Shape(h, vocab)) : null;
        NDArray gradBias = differentiable ? step.zeros(new Shape(1, vocab)) : null;
        List<NDArray> gradHidden = new ArrayList<>();
        NDArray detached = hidden.stopGradient();
        double nllSum = 0;
        long correct = 0;
        for (long from = 0; from < t; from += chunk) {
            long to = Math.min(t, from + chunk);
            NDIndex slice = new NDIndex(":, {}:{}", from, to);
            try (NDManager cm = step.newSubManager()) {
                NDArray x = detached.get(slice);
                NDArray y = safeLabels.get(slice);
                NDArray v = validF.get(slice);
                NDArray vb = valid.get(slice);
                new NDList(x, y, v, vb).attach(cm);
                NDArray logp = x.matMul(weightT).add(bias).logSoftmax(-1);
                NDArray picked = logp.gather(y.expandDims(-1), -1).squeeze(-1);
                nllSum -= picked.mul(v).sum().getFloat();
                correct += logp.argMax(-1).eq(y).logicalAnd(vb).toType(DataType.INT64, false).sum().getLong();
                if (differentiable && tokens > 0) {
                    // d(mean NLL)/d(logits) = (softmax - onehot) / tokens at non-ignored positions.
                    NDArray g = logp.exp().sub(y.oneHot((int) vocab, DataType.FLOAT32))
                            .mul(v.expandDims(-1)).div((float) tokens);
                    NDArray gh = g.matMul(weightT.transpose());
                    gh.attach(step);
                    gradHidden.add(gh);
                    NDArray flatG = g.reshape(-1, vocab);
                    gradWeightT.addi(x.reshape(-1, h).transpose().matMul(flatG));
                    gradBias.addi(flatG.sum(new int[] {0}, true));
                }
            }
        }
        double mean = tokens == 0 ? 0 : nllSum / tokens;
        NDArray value = step.create((float) mean);
        if (!differentiable || tokens == 0) {
            // Without tokens to predict the loss is 0 with a zero gradient, rather than transformers' 0/0 = NaN.
            NDArray zero = hidden.sum().mul(Module.scalar(hidden, 0f));
            return new Result(differentiable ? zero.add(value) : value, nllSum, tokens, correct);
        }
        NDArray gh = gradHidden.size() == 1 ? gradHidden.get(0) : NDArrays.concat(new NDList(gradHidden), 1);
        NDArray surrogate = hidden.mul(gh).sum()
                .add(weightTLive.mul(gradWeightT).sum())
                .add(biasLive.mul(gradBias).sum());
        NDArray loss = surrogate.sub(surrogate.stopGradient()).add(value);
        return new Result(loss, nllSum, tokens, correct);
    }
}

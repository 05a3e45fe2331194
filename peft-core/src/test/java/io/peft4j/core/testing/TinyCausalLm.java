package io.peft4j.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;

/**
 * The smallest decoder-shaped model: token embedding, {@code z = tanh(mix(e))}, a causal running mean
 * {@code h_t = mean(z_0..z_t)} (position t sees no later token), and an output head that is either its
 * own {@code lm_head} with bias or tied to the embedding ({@code h E^T}). Small enough for a Java
 * double-precision reference of every step ({@link #reference}).
 */
public final class TinyCausalLm extends Module implements CausalLanguageModel {
    private final long hidden;
    private final boolean tied;

    public TinyCausalLm(int vocab, int hidden, boolean tied) {
        this.hidden = hidden;
        this.tied = tied;
        registerModule("embed_tokens", new Embedding(vocab, hidden));
        registerModule("mix", new Linear(hidden, hidden, true));
        if (!tied) {
            registerModule("lm_head", new Linear(hidden, vocab, true));
        }
    }

    public static PeftModel create(long seed, int vocab, int hidden, boolean tied) {
        Compute.seed(seed);
        NDManager manager = Compute.newManager();
        PeftModel model = new PeftModel(new TinyCausalLm(vocab, hidden, tied), manager, "tiny-causal-lm", "TinyCausalLm");
        model.initializeMissing();
        // Non-zero biases, so the head's bias path is exercised.
        if (!tied) {
            Linear head = (Linear) model.module("lm_head");
            head.setParameterArray("bias", manager.randomNormal(0f, 0.5f, new Shape(vocab), ai.djl.ndarray.types.DataType.FLOAT32));
        }
        Linear mix = (Linear) model.module("mix");
        mix.setParameterArray("weight", manager.randomNormal(0f, 0.7f, new Shape(hidden, hidden), ai.djl.ndarray.types.DataType.FLOAT32));
        Embedding e = (Embedding) model.module("embed_tokens");
        e.setParameterArray("weight", manager.randomNormal(0f, 1f, new Shape(vocab, hidden), ai.djl.ndarray.types.DataType.FLOAT32));
        return model;
    }

    @Override
    public long hiddenSize() {
        return hidden;
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training) {
        NDArray e = ctx.inputsEmbeds() != null ? ctx.inputsEmbeds() : call(child("embed_tokens"), ps, ctx.inputIds(), training);
        NDArray z = call(child("mix"), ps, e, training).tanh();
        int t = (int) ctx.sequenceLength();
        float[] avg = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j <= i; j++) {
                avg[i * t + j] = 1f / (i + 1);
            }
        }
        NDArray runningMean = ctx.anyInput().getManager().create(avg, new Shape(t, t));
        NDArray h = runningMean.matMul(z);
        return ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, h).build();
    }

    @Override
    public NDArray lmHead(ParameterStore ps, NDArray h, boolean training) {
        if (tied) {
            return h.matMul(((Embedding) child("embed_tokens")).weight().transpose());
        }
        return call(child("lm_head"), ps, h, training);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        ModelOutput out = forward(ps, ForwardContext.builder().inputIds(inputs.get(0)).build(), training);
        return new NDList(lmHead(ps, out.lastHiddenState(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("shapes are known from the parameters");
    }

    /**
     * transformers' causal-LM loss of this model in double precision, from the model's float32 weights:
     * mean over non-ignored {@code labels[:, 1:]} of {@code -log softmax(h_t W^T + b)[label]}.
     * Returns {nll sum, token count, correct argmax count}.
     */
    public static double[] reference(PeftModel model, long[][] ids, long[][] labels) {
        boolean tied = !model.hasModule("lm_head");
        double[][] emb = rows(model.parameter("embed_tokens.weight").parameter().getArray());
        double[][] mixW = rows(model.parameter("mix.weight").parameter().getArray());
        double[] mixB = toDouble(model.parameter("mix.bias").parameter().getArray().toFloatArray());
        double[][] headW = tied ? emb : rows(model.parameter("lm_head.weight").parameter().getArray());
        double[] headB = tied ? new double[emb.length] : toDouble(model.parameter("lm_head.bias").parameter().getArray().toFloatArray());
        int hid = emb[0].length;
        double nll = 0;
        long tokens = 0;
        long correct = 0;
        for (int b = 0; b < ids.length; b++) {
            int t = ids[b].length;
            double[][] z = new double[t][hid];
            for (int i = 0; i < t; i++) {
                double[] e = emb[(int) ids[b][i]];
                for (int o = 0; o < hid; o++) {
                    double s = mixB[o];
                    for (int k = 0; k < hid; k++) {
                        s += mixW[o][k] * e[k];
                    }
                    z[i][o] = Math.tanh(s);
                }
            }
            double[] sum = new double[hid];
            for (int i = 0; i < t - 1; i++) {
                for (int o = 0; o < hid; o++) {
                    sum[o] += z[i][o];
                }
                long label = labels[b][i + 1];
                if (label == -100) {
                    continue;
                }
                double[] logits = new double[headW.length];
                int best = 0;
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < headW.length; v++) {
                    double s = headB[v];
                    for (int o = 0; o < hid; o++) {
                        s += headW[v][o] * sum[o] / (i + 1);
                    }
                    logits[v] = s;
                    if (s > max) {
                        max = s;
                        best = v;
                    }
                }
                double lse = 0;
                for (double l : logits) {
                    lse += Math.exp(l - max);
                }
                nll += max + Math.log(lse) - logits[(int) label];
                tokens++;
                correct += best == label ? 1 : 0;
            }
        }
        return new double[] {nll, tokens, correct};
    }

    private static double[][] rows(NDArray a) {
        float[] f = a.toFloatArray();
        int r = (int) a.getShape().get(0);
        int c = (int) a.getShape().get(1);
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[i][j] = f[i * c + j];
            }
        }
        return out;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}

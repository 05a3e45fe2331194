package io.peft4j.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.KeyValueCache;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;

import java.util.Random;

/**
 * A test decoder small enough for a double-precision Java reference: token plus learned position
 * embeddings, {@code LAYERS} residual causal self-attention layers with {@code HEADS} heads that read
 * and fill the context's {@link KeyValueCache}, honour {@code attention_mask} and {@code position_ids},
 * and a head tied to the token embeddings. Weights come from a seeded {@link Random}, not libtorch.
 */
final class TinyDecoder extends Module implements CausalLanguageModel {
    static final int LAYERS = 2;
    static final int HEADS = 2;
    private final int hidden;

    private TinyDecoder(int vocab, int hidden, int maxPositions) {
        this.hidden = hidden;
        registerModule("embed_tokens", new Embedding(vocab, hidden));
        registerModule("embed_positions", new Embedding(maxPositions, hidden));
        for (int l = 0; l < LAYERS; l++) {
            registerModule("layer" + l, new Attention(hidden, l));
        }
    }

    static PeftModel create(long seed, int vocab, int hidden, int maxPositions) {
        NDManager manager = Compute.newManager();
        PeftModel model = new PeftModel(new TinyDecoder(vocab, hidden, maxPositions), manager, "tiny-decoder", "TinyDecoder");
        model.initializeMissing();
        Random random = new Random(seed);
        for (NamedParameter p : model.namedParameters()) {
            Shape shape = p.parameter().getArray().getShape();
            float[] values = new float[(int) shape.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * (p.name().startsWith("embed") ? 1.0 : 0.4));
            }
            p.module().setParameterArray(p.localName(), manager.create(values, shape));
        }
        return model;
    }

    @Override
    public long hiddenSize() {
        return hidden;
    }

    @Override
    public ModelOutput forward(ParameterStore ps, ForwardContext ctx, boolean training) {
        NDArray ids = ctx.inputIds();
        NDManager m = ids.getManager();
        KeyValueCache cache = ctx.keyValueCache();
        long past = cache == null ? 0 : cache.length();
        long b = ctx.batchSize();
        long t = ctx.sequenceLength();
        NDArray positions = ctx.positionIds() != null ? ctx.positionIds()
                : m.arange((int) past, (int) (past + t)).toType(DataType.INT64, false).reshape(1, t).repeat(0, b);
        NDArray x = call(child("embed_tokens"), ps, ids, training).add(call(child("embed_positions"), ps, positions, training));
        long s = past + t;
        float[] causal = new float[(int) (t * s)];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < s; j++) {
                causal[(int) (i * s + j)] = j <= past + i ? 1f : 0f;
            }
        }
        NDArray allowed = ctx.attentionMaskOrOnes().toType(DataType.FLOAT32, false).reshape(b, 1, 1, s)
                .mul(m.create(causal, new Shape(1, 1, t, s)));
        NDArray bias = allowed.sub(1f).mul(1e9f);
        for (int l = 0; l < LAYERS; l++) {
            x = x.add(((Attention) child("layer" + l)).attend(ps, x, bias, cache));
        }
        return ModelOutput.builder().put(ModelOutput.LAST_HIDDEN_STATE, x).build();
    }

    @Override
    public NDArray lmHead(ParameterStore ps, NDArray h, boolean training) {
        // A view of a parameter lands in the parameter's manager: hand it to the step's.
        NDArray weightT = ((Embedding) child("embed_tokens")).weight().transpose();
        weightT.attach(h.getManager());
        return h.matMul(weightT);
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

    /** Multi-head causal self-attention {@code o(softmax(q k^T / sqrt(d) + bias) v)}. */
    static final class Attention extends Module {
        private final int hidden;
        private final int index;

        Attention(int hidden, int index) {
            this.hidden = hidden;
            this.index = index;
            for (String n : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                registerModule(n, new Linear(hidden, hidden, true));
            }
        }

        NDArray attend(ParameterStore ps, NDArray x, NDArray bias, KeyValueCache cache) {
            long b = x.getShape().get(0);
            long t = x.getShape().get(1);
            int d = hidden / HEADS;
            NDArray q = heads(call(child("q_proj"), ps, x, false), b, t, d);
            NDArray k = heads(call(child("k_proj"), ps, x, false), b, t, d);
            NDArray v = heads(call(child("v_proj"), ps, x, false), b, t, d);
            if (cache != null) {
                NDList kv = cache.append(index, k, v);
                k = kv.get(0);
                v = kv.get(1);
            }
            NDArray p = q.matMul(k.transpose(0, 1, 3, 2)).mul((float) (1 / Math.sqrt(d))).add(bias).softmax(-1);
            NDArray o = p.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);
            return call(child("o_proj"), ps, o, false);
        }

        private static NDArray heads(NDArray a, long b, long t, int d) {
            return a.reshape(b, t, HEADS, d).transpose(0, 2, 1, 3);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            throw new UnsupportedOperationException("called through attend");
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }
}

package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.CausalLanguageModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelOutput;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Causal language modelling as transformers' {@code ForCausalLMLoss}: the model's hidden state at
 * position {@code t} predicts {@code labels[:, t + 1]} (labels are the inputs, shifted inside the loss),
 * positions labelled {@code -100} (padding, and prompt tokens when the data masks them) are ignored, and
 * the loss is the mean over the remaining tokens. The output head is applied {@link #chunkSize()}
 * positions at a time so that no {@code [B, T, vocab]} log-softmax is kept for the backward pass
 * ({@link ChunkedCrossEntropy}); {@link #unchunked()} is the plain autograd form, for heads with dropout.
 * Metrics: token-weighted {@code loss}, {@code perplexity = exp(loss)} and {@code token_accuracy}.
 *
 * <p>The model's root must be a {@link CausalLanguageModel}. This task trains and evaluates;
 * {@link io.peft4j.core.generate.Generator} generates text from the same model.
 */
public final class CausalLanguageModeling implements Task {
    /** transformers' {@code ignore_index}: a label that counts for nothing. */
    public static final int IGNORE_INDEX = Batch.IGNORE_INDEX;
    public static final int DEFAULT_CHUNK_SIZE = 256;

    private final int chunkSize;

    /** Chunks of {@value #DEFAULT_CHUNK_SIZE} positions. */
    public CausalLanguageModeling() {
        this(DEFAULT_CHUNK_SIZE);
    }

    /** @param chunkSize positions per chunk of the output head, at least 1 */
    public CausalLanguageModeling(int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunkSize must be at least 1, got " + chunkSize);
        }
        this.chunkSize = chunkSize;
    }

    /** The unchunked form: chunk size 0, which the public constructor refuses. */
    private CausalLanguageModeling(Void unchunked) {
        this.chunkSize = 0;
    }

    /** The loss through autograd over the full logits: exact reference, and for heads that are not affine. */
    public static CausalLanguageModeling unchunked() {
        return new CausalLanguageModeling((Void) null);
    }

    /** Positions per chunk, or 0 when unchunked. */
    public int chunkSize() {
        return chunkSize;
    }

    /** Differentiable in both modes; {@code training} only switches the model's dropout. */
    @Override
    public NDArray loss(PeftModel model, Batch batch, boolean training) {
        return run(model, batch, training, true).loss;
    }

    private ChunkedCrossEntropy.Result run(PeftModel model, Batch batch, boolean training, boolean differentiable) {
        CausalLanguageModel lm = causal(model);
        ParameterStore ps = new ParameterStore(model.manager(), false);
        ModelOutput out = lm.forward(ps, ForwardContext.of(batch), training);
        NDArray hidden = out.lastHiddenState();
        NDArray labels = batch.require(Batch.LABELS);
        long t = hidden.getShape().get(1);
        if (labels.getShape().dimension() != 2 || labels.getShape().get(1) != t) {
            throw new IllegalArgumentException("'labels' has shape " + labels.getShape() + "; expected [" + batch.size()
                    + ", " + t + "], one label per input position");
        }
        if (labels.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException("'labels' must be int64 token ids (or -100), got " + labels.getDataType());
        }
        if (t < 2) {
            throw new IllegalArgumentException("Causal LM needs sequences of at least 2 tokens, got " + t);
        }
        NDArray shiftedHidden = hidden.get(new NDIndex(":, :-1"));
        NDArray shiftedLabels = labels.get(new NDIndex(":, 1:"));
        if (chunkSize == 0) {
            return Unchunked.compute(lm, ps, shiftedHidden, shiftedLabels, training);
        }
        return ChunkedCrossEntropy.compute(lm, ps, shiftedHidden, shiftedLabels, chunkSize, training, differentiable);
    }

    @Override
    public Metrics evaluate(PeftModel model, Batches data, int batchSize) {
        double[] nll = {0};
        long[] counts = {0, 0};
        EvalLoop.forEachBatch(model, data, batchSize, batch -> {
            ChunkedCrossEntropy.Result r = run(model, batch, false, false);
            nll[0] += r.nllSum;
            counts[0] += r.tokens;
            counts[1] += r.correct;
        });
        double loss = counts[0] == 0 ? Double.NaN : nll[0] / counts[0];
        Map<String, Double> out = new LinkedHashMap<>();
        out.put(Metrics.LOSS, loss);
        out.put(Metrics.PERPLEXITY, Math.exp(loss));
        out.put(Metrics.TOKEN_ACCURACY, counts[0] == 0 ? Double.NaN : (double) counts[1] / counts[0]);
        return new Metrics(out);
    }

    private static CausalLanguageModel causal(PeftModel model) {
        if (!(model.root() instanceof CausalLanguageModel)) {
            throw new IllegalArgumentException("Causal language modelling needs a decoder whose root implements "
                    + "CausalLanguageModel; this model's root is " + model.root().getClass().getSimpleName());
        }
        return (CausalLanguageModel) model.root();
    }

    /** The full-logits form: head, log-softmax and pick under autograd. */
    private static final class Unchunked {
        static ChunkedCrossEntropy.Result compute(CausalLanguageModel lm, ParameterStore ps, NDArray hidden,
                NDArray labels, boolean training) {
            NDArray valid = labels.neq(IGNORE_INDEX);
            long tokens = valid.toType(DataType.INT64, false).sum().getLong();
            NDArray safe = labels.mul(valid.toType(DataType.INT64, false));
            NDArray logp = lm.lmHead(ps, hidden, training).logSoftmax(-1);
            NDArray picked = logp.gather(safe.expandDims(-1), -1).squeeze(-1);
            NDArray nll = picked.mul(valid.toType(DataType.FLOAT32, false)).sum().neg();
            long correct = logp.argMax(-1).eq(safe).logicalAnd(valid).toType(DataType.INT64, false).sum().getLong();
            double sum = nll.getFloat();
            NDArray loss = nll.div(io.peft4j.core.nn.Module.scalar(nll, Math.max(tokens, 1)));
            return new ChunkedCrossEntropy.Result(loss, sum, tokens, correct);
        }
    }
}

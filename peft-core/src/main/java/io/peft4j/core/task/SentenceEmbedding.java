package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.data.SentencePairData;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sentence embeddings trained as sentence-transformers' {@code MultipleNegativesRankingLoss}: each
 * anchor's positive is the right answer among all positives of the batch (the others are in-batch
 * negatives) and, when the batch has them, among all hard negatives too; the loss is the cross-entropy of
 * {@code scale * cos(anchor, candidate)} with the own positive as target ({@code scale} 20 by default).
 *
 * <p>A sentence's embedding is the mean of the model's {@code last_hidden_state} over the attention
 * mask, then L2-normalized (all-MiniLM-L6-v2's sentence-transformers modules: Transformer, mean
 * Pooling, Normalize). A batch holds each text under a prefix: {@code anchor_input_ids},
 * {@code anchor_attention_mask}, {@code positive_input_ids}, ... and optionally {@code negative_*}.
 * Metrics: {@code loss} and in-batch retrieval {@code accuracy@1} (the own positive ranks first among
 * the batch's candidates; it depends on the evaluation batch size).
 */
public final class SentenceEmbedding implements Task {
    public static final String ANCHOR = SentencePairData.ANCHOR_PREFIX;
    public static final String POSITIVE = SentencePairData.POSITIVE_PREFIX;
    public static final String NEGATIVE = SentencePairData.NEGATIVE_PREFIX;
    public static final float DEFAULT_SCALE = 20f;

    private final float scale;
    private final boolean normalize;

    private SentenceEmbedding(Builder b) {
        this.scale = b.scale;
        this.normalize = b.normalize;
    }

    /** Scale 20, normalized embeddings. */
    public SentenceEmbedding() {
        this(builder());
    }

    public static Builder builder() {
        return new Builder();
    }

    public float scale() {
        return scale;
    }

    public boolean normalize() {
        return normalize;
    }

    /** The embeddings {@code [B, H]} of the texts a context holds. */
    public NDArray embed(PeftModel model, ForwardContext context, boolean training) {
        NDArray hidden = model.forward(context, training).lastHiddenState();
        NDArray pooled = meanPool(hidden, context.attentionMaskOrOnes());
        return normalize ? l2Normalize(pooled) : pooled;
    }

    @Override
    public NDArray loss(PeftModel model, Batch batch, boolean training) {
        return multipleNegativesRankingLoss(scores(model, batch, training));
    }

    /** {@code scale * cos(anchor_i, candidate_j)}, {@code [B, B]} or {@code [B, 2B]} with hard negatives. */
    private NDArray scores(PeftModel model, Batch batch, boolean training) {
        NDArray anchors = embed(model, ForwardContext.of(batch, ANCHOR), training);
        NDArray candidates = embed(model, ForwardContext.of(batch, POSITIVE), training);
        if (batch.has(NEGATIVE + Batch.INPUT_IDS)) {
            NDArray negatives = embed(model, ForwardContext.of(batch, NEGATIVE), training);
            candidates = NDArrays.concat(new NDList(candidates, negatives), 0);
        }
        return cosineScores(anchors, candidates, scale);
    }

    /** {@code sum(h * mask) / max(sum(mask), 1e-9)} over the sequence, as sentence-transformers' mean pooling. */
    public static NDArray meanPool(NDArray hidden, NDArray attentionMask) {
        NDArray m = attentionMask.toType(DataType.FLOAT32, false).expandDims(-1);
        return hidden.mul(m).sum(new int[] {1}).div(m.sum(new int[] {1}).maximum(1e-9f));
    }

    /** Rows divided by {@code max(||row||, 1e-12)}, as torch's {@code F.normalize}. */
    public static NDArray l2Normalize(NDArray x) {
        return x.div(x.norm(new int[] {1}, true).maximum(Module.scalar(x, 1e-12f)));
    }

    /** {@code scale * cos(a_i, c_j)} for all pairs: {@code [A, C]}. */
    public static NDArray cosineScores(NDArray anchors, NDArray candidates, float scale) {
        return l2Normalize(anchors).matMul(l2Normalize(candidates).transpose()).mul(Module.scalar(anchors, scale));
    }

    /** Mean cross-entropy of score rows {@code [B, C]} whose target is column {@code i} for row {@code i}. */
    public static NDArray multipleNegativesRankingLoss(NDArray scores) {
        long b = scores.getShape().get(0);
        NDArray targets = scores.getManager().arange(0L, b, 1L, DataType.INT64);
        return SequenceClassification.crossEntropy(scores, targets);
    }

    @Override
    public Metrics evaluate(PeftModel model, Batches data, int batchSize) {
        double[] lossSum = {0};
        long[] correct = {0};
        EvalLoop.forEachBatch(model, data, batchSize, batch -> {
            NDArray scores = scores(model, batch, false);
            lossSum[0] += multipleNegativesRankingLoss(scores).getFloat() * batch.size();
            long[] best = scores.argMax(1).toLongArray();
            for (int i = 0; i < best.length; i++) {
                correct[0] += best[i] == i ? 1 : 0;
            }
        });
        int n = data.size();
        Map<String, Double> out = new LinkedHashMap<>();
        out.put(Metrics.LOSS, n == 0 ? Double.NaN : lossSum[0] / n);
        out.put(Metrics.RETRIEVAL_ACCURACY, n == 0 ? Double.NaN : (double) correct[0] / n);
        return new Metrics(out);
    }

    public static final class Builder {
        private float scale = DEFAULT_SCALE;
        private boolean normalize = true;

        private Builder() {}

        /** The similarity scale (the inverse temperature); sentence-transformers' default is 20. */
        public Builder scale(float scale) {
            if (!(scale > 0) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("scale must be a positive finite number, got " + scale);
            }
            this.scale = scale;
            return this;
        }

        /** Whether embeddings are L2-normalized after pooling (the loss uses cosine similarity either way). */
        public Builder normalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        public SentenceEmbedding build() {
            return new SentenceEmbedding(this);
        }
    }
}

package io.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.bert.BertModel;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

import java.util.Random;

class SentenceEmbeddingTest {
    private static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    /** sentence-transformers' MNRL in double: mean_i [ logsumexp_j(s * cos(a_i, c_j)) - s * cos(a_i, c_i) ]. */
    private static double referenceLoss(float[] a, float[] c, int b, int cands, int dim, double scale) {
        double total = 0;
        for (int i = 0; i < b; i++) {
            double[] s = new double[cands];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cands; j++) {
                double dot = 0;
                double na = 0;
                double nc = 0;
                for (int k = 0; k < dim; k++) {
                    dot += (double) a[i * dim + k] * c[j * dim + k];
                    na += (double) a[i * dim + k] * a[i * dim + k];
                    nc += (double) c[j * dim + k] * c[j * dim + k];
                }
                s[j] = scale * dot / (Math.sqrt(na) * Math.sqrt(nc));
                max = Math.max(max, s[j]);
            }
            double lse = 0;
            for (double v : s) {
                lse += Math.exp(v - max);
            }
            total += max + Math.log(lse) - s[i];
        }
        return total / b;
    }

    @Test
    void rankingLossMatchesDoublePrecisionWithAndWithoutHardNegatives() {
        Random r = new Random(3);
        int b = 5;
        int dim = 7;
        float[] a = random(r, b * dim);
        float[] p = random(r, b * dim);
        float[] n = random(r, b * dim);
        float[] pn = new float[2 * b * dim];
        System.arraycopy(p, 0, pn, 0, p.length);
        System.arraycopy(n, 0, pn, p.length, n.length);
        try (NDManager m = Compute.newManager()) {
            NDArray anchors = m.create(a, new Shape(b, dim));
            for (float scale : new float[] {20f, 3f}) {
                NDArray inBatch = SentenceEmbedding.cosineScores(anchors, m.create(p, new Shape(b, dim)), scale);
                // Scores up to 20 through a float32 log-softmax: 1e-5 relative.
                assertEquals(referenceLoss(a, p, b, b, dim, scale),
                        SentenceEmbedding.multipleNegativesRankingLoss(inBatch).getFloat(), 2e-5 * scale);
                NDArray withNegatives = SentenceEmbedding.cosineScores(anchors, m.create(pn, new Shape(2 * b, dim)), scale);
                assertEquals(new Shape(b, 2 * b), withNegatives.getShape());
                assertEquals(referenceLoss(a, pn, b, 2 * b, dim, scale),
                        SentenceEmbedding.multipleNegativesRankingLoss(withNegatives).getFloat(), 2e-5 * scale);
            }
        }
    }

    @Test
    void meanPoolingCountsOnlyMaskedTokensAndNormalizes() {
        Random r = new Random(4);
        int b = 2;
        int t = 4;
        int h = 3;
        float[] hidden = random(r, b * t * h);
        long[] mask = {1, 1, 1, 0, 1, 0, 0, 0};
        try (NDManager m = Compute.newManager()) {
            NDArray pooled = SentenceEmbedding.meanPool(m.create(hidden, new Shape(b, t, h)), m.create(mask, new Shape(b, t)));
            float[] normalized = SentenceEmbedding.l2Normalize(pooled).toFloatArray();
            for (int i = 0; i < b; i++) {
                double[] mean = new double[h];
                int count = 0;
                for (int s = 0; s < t; s++) {
                    if (mask[i * t + s] == 1) {
                        count++;
                        for (int k = 0; k < h; k++) {
                            mean[k] += hidden[(i * t + s) * h + k];
                        }
                    }
                }
                double norm = 0;
                for (int k = 0; k < h; k++) {
                    mean[k] /= count;
                    norm += mean[k] * mean[k];
                }
                for (int k = 0; k < h; k++) {
                    assertEquals(mean[k], pooled.getFloat(i, k), 1e-6);
                    assertEquals(mean[k] / Math.sqrt(norm), normalized[i * h + k], 1e-6);
                }
            }
        }
    }

    /**
     * Anchors of random tokens; the positive holds the same tokens in another order with one replaced;
     * the hard negative is unrelated random tokens.
     */
    static Batches pairs(int n, long seed, boolean negatives) {
        Random r = new Random(seed);
        int t = TinyBert.SEQ;
        long[][] anchor = new long[n][t];
        long[][] positive = new long[n][t];
        long[][] negative = new long[n][t];
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < t; s++) {
                negative[i][s] = 1 + r.nextInt(TinyBert.VOCAB - 1);
            }
            for (int s = 0; s < t; s++) {
                anchor[i][s] = 1 + r.nextInt(TinyBert.VOCAB - 1);
            }
            for (int s = 0; s < t; s++) {
                positive[i][s] = anchor[i][(s + 3) % t];
            }
            positive[i][r.nextInt(t)] = 1 + r.nextInt(TinyBert.VOCAB - 1);
        }
        return new Batches() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public Batch batch(NDManager m, int[] idx) {
                Batch.Builder b = Batch.builder(idx.length);
                put(b, m, SentenceEmbedding.ANCHOR, anchor, idx);
                put(b, m, SentenceEmbedding.POSITIVE, positive, idx);
                if (negatives) {
                    put(b, m, SentenceEmbedding.NEGATIVE, negative, idx);
                }
                return b.build();
            }

            private void put(Batch.Builder b, NDManager m, String prefix, long[][] rows, int[] idx) {
                long[] flat = new long[idx.length * t];
                for (int i = 0; i < idx.length; i++) {
                    System.arraycopy(rows[idx[i]], 0, flat, i * t, t);
                }
                long[] ones = new long[flat.length];
                java.util.Arrays.fill(ones, 1);
                b.put(prefix + Batch.INPUT_IDS, m.create(flat, new Shape(idx.length, t)));
                b.put(prefix + Batch.ATTENTION_MASK, m.create(ones, new Shape(idx.length, t)));
            }
        };
    }

    static PeftModel tinyEncoder(long seed) {
        Compute.seed(seed);
        PeftModel model = new PeftModel(new BertModel(TinyBert.config(0f), false), Compute.newManager(), "tiny-bert", "BertModel");
        model.initializeMissing();
        return model;
    }

    @Test
    void lossOfABatchIsTheRankingLossOfItsEmbeddings() {
        SentenceEmbedding task = SentenceEmbedding.builder().scale(10f).build();
        try (PeftModel model = tinyEncoder(1); NDManager sm = model.manager().newSubManager()) {
            Batch batch = pairs(4, 9, true).batch(sm, new int[] {0, 1, 2, 3});
            int dim = 32;
            float[] a = task.embed(model, io.peft4j.core.model.ForwardContext.of(batch, SentenceEmbedding.ANCHOR), false).toFloatArray();
            NDArray cands = NDArrays.concat(new NDList(
                    task.embed(model, io.peft4j.core.model.ForwardContext.of(batch, SentenceEmbedding.POSITIVE), false),
                    task.embed(model, io.peft4j.core.model.ForwardContext.of(batch, SentenceEmbedding.NEGATIVE), false)), 0);
            assertEquals(referenceLoss(a, cands.toFloatArray(), 4, 8, dim, 10), task.loss(model, batch, false).getFloat(), 2e-4);
        }
    }

    @Test
    void trainsEndToEndOnATinyEncoder() {
        SentenceEmbedding task = new SentenceEmbedding();
        Batches train = pairs(32, 1, true);
        try (PeftModel model = tinyEncoder(2)) {
            model.setAllTrainable(true);
            Trainer trainer = new Trainer(model, task, TrainingConfig.builder().epochs(2).batchSize(8)
                    .learningRate(2e-3f).seed(3).progressBar(false).build());
            Metrics before = trainer.evaluate(train);
            trainer.fit(train, null);
            Metrics after = trainer.evaluate(train);
            assertTrue(after.get(Metrics.LOSS) < 0.5 * before.get(Metrics.LOSS), before + " -> " + after);
            assertTrue(after.get(Metrics.RETRIEVAL_ACCURACY) >= before.get(Metrics.RETRIEVAL_ACCURACY), before + " -> " + after);
        }
    }

    @Test
    void embeddingsAreUnitVectorsUnlessAskedOtherwise() {
        try (PeftModel model = tinyEncoder(1); NDManager sm = model.manager().newSubManager()) {
            Batch batch = pairs(3, 2, false).batch(sm, new int[] {0, 1, 2});
            io.peft4j.core.model.ForwardContext ctx = io.peft4j.core.model.ForwardContext.of(batch, SentenceEmbedding.ANCHOR);
            float[] norms = new SentenceEmbedding().embed(model, ctx, false).norm(new int[] {1}).toFloatArray();
            assertArrayEquals(new float[] {1f, 1f, 1f}, norms, 1e-6f);
            float[] raw = SentenceEmbedding.builder().normalize(false).build().embed(model, ctx, false)
                    .norm(new int[] {1}).toFloatArray();
            assertTrue(Math.abs(raw[0] - 1f) > 1e-3, "unnormalized norm " + raw[0]);
        }
    }
}

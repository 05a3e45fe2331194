package io.peft4j.core.testing;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.BertConfig;
import io.peft4j.core.model.bert.BertForSequenceClassification;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

import java.util.Random;

/** A small randomly initialized BERT and a learnable synthetic task, for fast tests of training mechanics. */
public final class TinyBert {
    public static final int VOCAB = 64;
    public static final int SEQ = 8;

    private TinyBert() {}

    public static BertConfig config(float dropout) {
        return BertConfig.builder().vocabSize(VOCAB).hiddenSize(32).numHiddenLayers(2).numAttentionHeads(4)
                .intermediateSize(64).maxPositionEmbeddings(32).hiddenDropoutProb(dropout)
                .attentionProbsDropoutProb(dropout).build();
    }

    public static PeftModel classifier(long seed, float dropout) {
        Compute.seed(seed);
        NDManager manager = Compute.newManager();
        PeftModel model = new PeftModel(new BertForSequenceClassification(config(dropout), true, 2, Pooling.MEAN),
                manager, "tiny-bert", "BertForSequenceClassification");
        model.initializeMissing();
        return model;
    }

    /** The positional inputs a BERT module takes ({@code input_ids}, {@code attention_mask}) from a batch. */
    public static ai.djl.ndarray.NDList modelInputs(Batch batch) {
        return new ai.djl.ndarray.NDList(batch.require(Batch.INPUT_IDS), batch.require(Batch.ATTENTION_MASK));
    }

    /** Label 1 when token 7 occurs in the sequence: learnable by attention and pooling. */
    public static Batches task(int size, long seed) {
        Random r = new Random(seed);
        long[][] ids = new long[size][SEQ];
        long[] labels = new long[size];
        for (int i = 0; i < size; i++) {
            boolean positive = r.nextBoolean();
            for (int t = 0; t < SEQ; t++) {
                long id;
                do {
                    id = 1 + r.nextInt(VOCAB - 1);
                } while (id == 7);
                ids[i][t] = id;
            }
            if (positive) {
                ids[i][r.nextInt(SEQ)] = 7;
            }
            labels[i] = positive ? 1 : 0;
        }
        return new Batches() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                long[] flat = new long[indices.length * SEQ];
                long[] mask = new long[flat.length];
                long[] out = new long[indices.length];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(ids[indices[i]], 0, flat, i * SEQ, SEQ);
                    out[i] = labels[indices[i]];
                }
                java.util.Arrays.fill(mask, 1L);
                Shape s = new Shape(indices.length, SEQ);
                return Batch.builder(indices.length)
                        .put(Batch.INPUT_IDS, m.create(flat, s))
                        .put(Batch.ATTENTION_MASK, m.create(mask, s))
                        .put(Batch.LABELS, m.create(out))
                        .build();
            }
        };
    }
}

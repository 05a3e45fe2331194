package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sequence classification: the model maps {@code input_ids}, {@code attention_mask} (and
 * {@code token_type_ids} when the batch has them) to logits {@code [B, C]}; the loss is the mean
 * softmax cross-entropy against int64 {@code labels [B]}; evaluation reports loss and accuracy.
 */
public final class SequenceClassification implements Task {
    private static final SoftmaxCrossEntropyLoss CROSS_ENTROPY = new SoftmaxCrossEntropyLoss();

    /** The logits {@code [B, C]} of a batch. */
    public NDArray logits(PeftModel model, Batch batch, boolean training) {
        NDList inputs = new NDList(batch.require(Batch.INPUT_IDS), batch.require(Batch.ATTENTION_MASK));
        if (batch.has(Batch.TOKEN_TYPE_IDS)) {
            inputs.add(batch.get(Batch.TOKEN_TYPE_IDS));
        }
        return model.forward(inputs, training).get(0);
    }

    @Override
    public NDArray loss(PeftModel model, Batch batch, boolean training) {
        return crossEntropy(logits(model, batch, training), batch.require(Batch.LABELS));
    }

    /** Mean cross-entropy of logits {@code [B, C]} against integer labels {@code [B]}. */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        // DJL's loss picks the label's log-probability; a one-hot product would turn -inf * 0 into NaN.
        return CROSS_ENTROPY.evaluate(new NDList(labels), new NDList(logits));
    }

    @Override
    public Metrics evaluate(PeftModel model, Batches data, int batchSize) {
        int n = data.size();
        long correct = 0;
        double lossSum = 0;
        for (int from = 0; from < n; from += batchSize) {
            int[] idx = range(from, Math.min(n, from + batchSize));
            try (NDManager sm = model.manager().newSubManager()) {
                Batch batch = data.batch(sm, idx);
                NDArray logits = logits(model, batch, false);
                NDArray gold = batch.require(Batch.LABELS);
                lossSum += crossEntropy(logits, gold).getFloat() * idx.length;
                long[] pred = logits.argMax(1).toLongArray();
                long[] want = gold.toLongArray();
                for (int i = 0; i < pred.length; i++) {
                    if (pred[i] == want[i]) {
                        correct++;
                    }
                }
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put(Metrics.LOSS, n == 0 ? Double.NaN : lossSum / n);
        out.put(Metrics.ACCURACY, n == 0 ? Double.NaN : (double) correct / n);
        return new Metrics(out);
    }

    /** The indices {@code from, ..., to - 1}. */
    static int[] range(int from, int to) {
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return idx;
    }
}

package io.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.data.LabeledBatches;

import java.util.List;

/**
 * Sequence classification: the model maps a batch's named inputs to {@code logits [B, C]}; the loss is
 * the mean softmax cross-entropy against int64 {@code labels [B]}; evaluation reports loss, accuracy,
 * macro-F1, per-class precision/recall and the confusion matrix ({@link ClassificationMetrics}).
 */
public final class SequenceClassification implements Task {
    private static final SoftmaxCrossEntropyLoss CROSS_ENTROPY = new SoftmaxCrossEntropyLoss();

    /** The logits {@code [B, C]} of a batch. */
    public NDArray logits(PeftModel model, Batch batch, boolean training) {
        return model.forward(batch, training).logits();
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
        return evaluateClassification(model, data, batchSize);
    }

    /** {@link #evaluate} with its full type: the confusion matrix and per-class figures besides the scalars. */
    public ClassificationMetrics evaluateClassification(PeftModel model, Batches data, int batchSize) {
        double[] lossSum = {0};
        long[][][] confusion = {null};
        EvalLoop.forEachBatch(model, data, batchSize, batch -> {
            NDArray logits = logits(model, batch, false);
            NDArray gold = batch.require(Batch.LABELS);
            lossSum[0] += crossEntropy(logits, gold).getFloat() * batch.size();
            int classes = (int) logits.getShape().get(1);
            if (confusion[0] == null) {
                confusion[0] = new long[classes][classes];
            }
            long[] pred = logits.argMax(1).toLongArray();
            long[] want = gold.toLongArray();
            for (int i = 0; i < pred.length; i++) {
                if (want[i] < 0 || want[i] >= classes) {
                    throw new IllegalArgumentException("Label " + want[i] + " outside the model's " + classes + " classes");
                }
                confusion[0][(int) want[i]][(int) pred[i]]++;
            }
        });
        int n = data.size();
        if (confusion[0] == null) {
            throw new IllegalArgumentException("No examples to evaluate");
        }
        List<String> names = data instanceof LabeledBatches ? ((LabeledBatches) data).labelNames() : null;
        if (names != null && names.size() != confusion[0].length) {
            names = null; // the data names other classes than the model predicts: report ids
        }
        return new ClassificationMetrics(lossSum[0] / n, confusion[0], names);
    }
}

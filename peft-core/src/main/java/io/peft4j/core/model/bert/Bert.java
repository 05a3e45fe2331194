package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.quant.BnbCheckpoint;

import ai.djl.ndarray.types.DataType;

import java.util.Map;

/** Builds BERT models from checkpoints: the entry point for loading a pretrained encoder. */
public final class Bert {
    private Bert() {}

    /** The encoder alone ({@code BertModel}), every weight from the checkpoint. */
    public static PeftModel encoder(BertCheckpoint ckpt, String baseModelName) {
        NDManager manager = Compute.newManager();
        try {
            BertModel model = new BertModel(ckpt.config(), ckpt.hasPooler());
            PeftModel tree = new PeftModel(model, manager, baseModelName, "BertModel");
            WeightLoader.load(tree, quantizedFirst(tree, ckpt, ""), "", ckpt.source(), name -> false);
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * An encoder under {@code bert} with a new {@code classifier} head (normal(0, 0.02) weights, zero
     * bias, as transformers initializes it) over the chosen pooling.
     */
    public static PeftModel sequenceClassifier(BertCheckpoint ckpt, String baseModelName, int numLabels, Pooling pooling) {
        NDManager manager = Compute.newManager();
        try {
            BertForSequenceClassification model =
                    new BertForSequenceClassification(ckpt.config(), ckpt.hasPooler(), numLabels, pooling);
            PeftModel tree = new PeftModel(model, manager, baseModelName, "BertForSequenceClassification");
            WeightLoader.load(tree, quantizedFirst(tree, ckpt, "bert."), "bert.", ckpt.source(),
                    name -> name.startsWith("classifier."));
            tree.initializeMissing();
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Linear weights the checkpoint holds quantized (a bitsandbytes 4-bit or 8-bit checkpoint) become
     * quantized layers; the rest is returned for the ordinary loader.
     */
    private static Map<String, Tensor> quantizedFirst(PeftModel tree, BertCheckpoint ckpt, String prefix) {
        return BnbCheckpoint.install(tree, ckpt.weights(), prefix, ckpt.source(), DataType.FLOAT32);
    }

    public static PeftModel sequenceClassifier(PretrainedEncoder pretrained, int numLabels) throws java.io.IOException {
        return sequenceClassifier(pretrained.checkpoint(), pretrained.hubName(), numLabels, Pooling.MEAN);
    }
}

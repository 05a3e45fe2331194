package io.peft4j.core.model.bert;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.quant.BnbCheckpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds BERT-family models from checkpoints: the entry point for loading a pretrained encoder. */
public final class Bert {
    private static final Logger LOG = LoggerFactory.getLogger(Bert.class);
    private static final BertFamily FAMILY = new BertFamily();

    private Bert() {}

    /**
     * The encoder alone ({@code BertModel}, {@code RobertaModel} or {@code XLMRobertaModel} as the
     * checkpoint's config says), every weight from the checkpoint, with a pooler when it has one.
     */
    public static PeftModel encoder(BertCheckpoint ckpt, String baseModelName) {
        NDManager manager = Compute.newManager();
        try {
            BertModel model = new BertModel(ckpt.config(), ckpt.hasPooler());
            PeftModel tree = new PeftModel(model, manager, baseModelName, ckpt.config().variant().baseArchitecture(), FAMILY);
            WeightLoader.load(tree, quantizedFirst(tree, ckpt.weights(), ckpt, ""), "", ckpt.source(), name -> false);
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * An encoder under {@code bert} with a new {@code classifier} head (normal(0, 0.02) weights, zero
     * bias, as transformers initializes it) over the chosen pooling: {@link Pooling#MEAN} as
     * sentence-transformers models were trained, {@link Pooling#CLS} the first token's hidden state, or
     * {@link Pooling#POOLER} transformers' pooler. With MEAN or CLS the pooler is not built, and the
     * checkpoint's pooler weights are not used.
     */
    public static PeftModel sequenceClassifier(BertCheckpoint ckpt, String baseModelName, int numLabels, Pooling pooling) {
        BertVariant variant = ckpt.config().variant();
        if (variant != BertVariant.BERT) {
            throw new IllegalArgumentException(ckpt.source() + ": model_type '" + variant.modelType() + "' has its own "
                    + "classifier in transformers (encoder under '" + variant.baseAttribute() + "', a two-layer "
                    + "classifier head), which peft4j does not build: load the encoder with Bert.encoder");
        }
        Map<String, Tensor> weights = ckpt.weights();
        if (pooling != Pooling.POOLER && ckpt.hasPooler()) {
            weights = withoutPooler(weights);
            LOG.debug("{}: pooler weights not loaded, {} pooling does not use the pooler", ckpt.source(), pooling);
        }
        NDManager manager = Compute.newManager();
        try {
            BertForSequenceClassification model =
                    new BertForSequenceClassification(ckpt.config(), ckpt.hasPooler(), numLabels, pooling);
            PeftModel tree = new PeftModel(model, manager, baseModelName, "BertForSequenceClassification", FAMILY);
            WeightLoader.load(tree, quantizedFirst(tree, weights, ckpt, "bert."), "bert.", ckpt.source(),
                    name -> name.startsWith("classifier."));
            tree.initializeMissing();
            return tree;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** A classifier over a shipped encoder with the chosen pooling (see the checkpoint overload). */
    public static PeftModel sequenceClassifier(PretrainedEncoder pretrained, int numLabels, Pooling pooling) throws IOException {
        return sequenceClassifier(pretrained.checkpoint(), pretrained.hubName(), numLabels, pooling);
    }

    /**
     * A classifier over a shipped encoder with {@link Pooling#MEAN}, the pooling sentence-transformers
     * trained these encoders with; logged, since transformers' own classifier uses the pooler.
     */
    public static PeftModel sequenceClassifier(PretrainedEncoder pretrained, int numLabels) throws IOException {
        LOG.info("{}: classifier over Pooling.MEAN (mask-weighted mean of the token embeddings, no pooler); "
                + "pass a Pooling to choose CLS or POOLER", pretrained.hubName());
        return sequenceClassifier(pretrained, numLabels, Pooling.MEAN);
    }

    private static Map<String, Tensor> withoutPooler(Map<String, Tensor> weights) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> {
            if (!k.startsWith("pooler.")) {
                out.put(k, v);
            }
        });
        return out;
    }

    /**
     * Linear weights the checkpoint holds quantized (a bitsandbytes 4-bit or 8-bit checkpoint) become
     * quantized layers; the rest is returned for the ordinary loader.
     */
    private static Map<String, Tensor> quantizedFirst(PeftModel tree, Map<String, Tensor> weights, BertCheckpoint ckpt,
            String prefix) {
        return BnbCheckpoint.install(tree, weights, prefix, ckpt.source(), DataType.FLOAT32);
    }
}

package io.peft4j.core.model.bert;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;

import java.util.LinkedHashMap;
import java.util.Map;

/** Small random BERT-family encoders and their weights as checkpoint tensors, for family tests. */
final class TinyEncoders {
    private TinyEncoders() {}

    static BertConfig.Builder config(BertVariant variant, int maxPositions) {
        return BertConfig.builder().variant(variant).vocabSize(64).hiddenSize(16).numHiddenLayers(2)
                .numAttentionHeads(2).intermediateSize(32).maxPositionEmbeddings(maxPositions)
                .hiddenDropoutProb(0f).attentionProbsDropoutProb(0f);
    }

    /** A checkpoint of a randomly initialized encoder (with a pooler), under BertModel names. */
    static BertCheckpoint checkpoint(BertConfig config, long seed) {
        Compute.seed(seed);
        try (PeftModel m = new PeftModel(new BertModel(config, true), Compute.newManager(), "tiny", "BertModel")) {
            m.initializeMissing();
            return new BertCheckpoint(config, weights(m), "tiny-" + config.modelType());
        }
    }

    /** Every parameter of a model as a checkpoint tensor (copied, so the model may be closed). */
    static Map<String, Tensor> weights(PeftModel m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (NamedParameter p : m.namedParameters()) {
            float[] v = p.parameter().getArray().toFloatArray();
            out.put(p.name(), Tensor.ofFloats(v, p.parameter().getArray().getShape().getShape()));
        }
        return out;
    }
}

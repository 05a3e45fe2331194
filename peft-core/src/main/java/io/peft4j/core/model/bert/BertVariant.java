package io.peft4j.core.model.bert;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The encoders that share BERT's module tree and differ only in names and small details. MPNet is not
 * one of them: its attention adds a learned relative-position bias that BERT's does not have.
 */
public enum BertVariant {
    BERT("bert", "bert", "BertModel", List.of("BertForSequenceClassification"), false, 0),
    /**
     * RoBERTa: positions start after the padding index and skip padding tokens
     * (transformers' {@code create_position_ids_from_input_ids}).
     */
    ROBERTA("roberta", "roberta", "RobertaModel", List.of(), true, 1),
    /** XLM-RoBERTa: RoBERTa's architecture with another vocabulary; transformers keeps it under {@code roberta}. */
    XLM_ROBERTA("xlm-roberta", "roberta", "XLMRobertaModel", List.of(), true, 1);

    private final String modelType;
    private final String baseAttribute;
    private final String baseArchitecture;
    private final List<String> taskArchitectures;
    private final boolean positionsAfterPadding;
    private final int defaultPadTokenId;

    BertVariant(String modelType, String baseAttribute, String baseArchitecture, List<String> taskArchitectures,
            boolean positionsAfterPadding, int defaultPadTokenId) {
        this.modelType = modelType;
        this.baseAttribute = baseAttribute;
        this.baseArchitecture = baseArchitecture;
        this.taskArchitectures = taskArchitectures;
        this.positionsAfterPadding = positionsAfterPadding;
        this.defaultPadTokenId = defaultPadTokenId;
    }

    /** {@code model_type} in {@code config.json}. */
    public String modelType() {
        return modelType;
    }

    /** The attribute transformers' task models keep the encoder under: checkpoint keys start with it. */
    public String baseAttribute() {
        return baseAttribute;
    }

    /** transformers' class for the bare encoder. */
    public String baseArchitecture() {
        return baseArchitecture;
    }

    /** The task models peft4j builds for this variant with transformers' names. */
    public List<String> taskArchitectures() {
        return taskArchitectures;
    }

    /**
     * True when position ids are {@code padding_idx + 1 + (index among non-padding tokens)} and
     * padding tokens get {@code padding_idx}, as RoBERTa was trained; false for BERT's {@code 0..T-1}.
     */
    public boolean positionsAfterPadding() {
        return positionsAfterPadding;
    }

    /** {@code pad_token_id} when {@code config.json} leaves it out (transformers' config defaults). */
    public int defaultPadTokenId() {
        return defaultPadTokenId;
    }

    public static BertVariant forModelType(String modelType) {
        for (BertVariant v : values()) {
            if (v.modelType.equals(modelType)) {
                return v;
            }
        }
        throw new IllegalArgumentException("model_type '" + modelType + "' is not a BERT-family encoder peft4j builds; "
                + "known: " + modelTypes() + ("mpnet".equals(modelType)
                        ? " (MPNet's relative attention bias is not implemented, so it is not loaded as BERT)" : ""));
    }

    public static List<String> modelTypes() {
        return Arrays.stream(values()).map(BertVariant::modelType).collect(Collectors.toList());
    }
}

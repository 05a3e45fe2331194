package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.data.Batch;

/**
 * The named inputs of one forward, as transformers' model arguments: {@code input_ids} or
 * {@code inputs_embeds} (exactly one), {@code attention_mask} (1 = token, 0 = padding; all ones when
 * absent), {@code token_type_ids}, {@code position_ids} (the model's default positions when absent),
 * and an optional {@link KeyValueCache}. Prompt tuning prepends embeddings through
 * {@code inputs_embeds}; prefix tuning prepends keys and values through the cache. Immutable.
 */
public final class ForwardContext {
    private final NDArray inputIds;
    private final NDArray inputsEmbeds;
    private final NDArray attentionMask;
    private final NDArray tokenTypeIds;
    private final NDArray positionIds;
    private final KeyValueCache keyValueCache;

    private ForwardContext(Builder b) {
        if ((b.inputIds == null) == (b.inputsEmbeds == null)) {
            throw new IllegalArgumentException("A forward takes exactly one of input_ids and inputs_embeds, got "
                    + (b.inputIds == null ? "neither" : "both"));
        }
        this.inputIds = b.inputIds;
        this.inputsEmbeds = b.inputsEmbeds;
        this.attentionMask = b.attentionMask;
        this.tokenTypeIds = b.tokenTypeIds;
        this.positionIds = b.positionIds;
        this.keyValueCache = b.keyValueCache;
        long batch = batchSize();
        long seq = sequenceLength();
        checkShape("attention_mask", attentionMask, batch, seq + (keyValueCache == null ? 0 : keyValueCache.length()));
        checkShape("token_type_ids", tokenTypeIds, batch, seq);
        checkShape("position_ids", positionIds, -1, seq);
    }

    private static void checkShape(String name, NDArray a, long batch, long seq) {
        if (a == null) {
            return;
        }
        long[] s = a.getShape().getShape();
        if (s.length != 2 || (batch >= 0 && s[0] != batch) || s[1] != seq) {
            throw new IllegalArgumentException("'" + name + "' has shape " + a.getShape() + "; expected ["
                    + (batch >= 0 ? batch : "1 or batch") + ", " + seq + "]");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The context of a batch's {@code input_ids} or {@code inputs_embeds}, mask, token types and positions. */
    public static ForwardContext of(Batch batch) {
        return of(batch, "");
    }

    /**
     * The context of the arrays named {@code prefix + "input_ids"}, ... : one of several texts a batch
     * holds per example (e.g. {@code anchor_input_ids} and {@code positive_input_ids}).
     */
    public static ForwardContext of(Batch batch, String prefix) {
        if (!batch.has(prefix + Batch.INPUT_IDS) && !batch.has(prefix + Batch.INPUTS_EMBEDS)) {
            throw new IllegalArgumentException("The batch has neither '" + prefix + Batch.INPUT_IDS + "' nor '" + prefix
                    + Batch.INPUTS_EMBEDS + "'; it holds " + batch.names());
        }
        return builder()
                .inputIds(batch.get(prefix + Batch.INPUT_IDS))
                .inputsEmbeds(batch.get(prefix + Batch.INPUTS_EMBEDS))
                .attentionMask(batch.get(prefix + Batch.ATTENTION_MASK))
                .tokenTypeIds(batch.get(prefix + Batch.TOKEN_TYPE_IDS))
                .positionIds(batch.get(prefix + Batch.POSITION_IDS))
                .build();
    }

    /** int64 {@code [B, T]}, or null when the forward starts from {@code inputs_embeds}. */
    public NDArray inputIds() {
        return inputIds;
    }

    /** {@code [B, T, H]}, or null when the forward starts from {@code input_ids}. */
    public NDArray inputsEmbeds() {
        return inputsEmbeds;
    }

    /** {@code [B, pastLength + T]}, or null (every position attends). */
    public NDArray attentionMask() {
        return attentionMask;
    }

    /** The attention mask, or ones {@code [B, pastLength + T]} when the context has none. */
    public NDArray attentionMaskOrOnes() {
        if (attentionMask != null) {
            return attentionMask;
        }
        long past = keyValueCache == null ? 0 : keyValueCache.length();
        return anyInput().getManager().ones(new ai.djl.ndarray.types.Shape(batchSize(), past + sequenceLength()),
                DataType.INT64);
    }

    public NDArray tokenTypeIds() {
        return tokenTypeIds;
    }

    public NDArray positionIds() {
        return positionIds;
    }

    public KeyValueCache keyValueCache() {
        return keyValueCache;
    }

    public long batchSize() {
        return anyInput().getShape().get(0);
    }

    /** The number of current positions {@code T} (without the cache's). */
    public long sequenceLength() {
        return anyInput().getShape().get(1);
    }

    /** {@code input_ids} or {@code inputs_embeds}, whichever the context has: the array a step's results start from. */
    public NDArray anyInput() {
        return inputIds != null ? inputIds : inputsEmbeds;
    }

    /** A builder holding this context's arrays, to change one (e.g. replace ids by embeddings). */
    public Builder toBuilder() {
        return builder().inputIds(inputIds).inputsEmbeds(inputsEmbeds).attentionMask(attentionMask)
                .tokenTypeIds(tokenTypeIds).positionIds(positionIds).keyValueCache(keyValueCache);
    }

    public static final class Builder {
        private NDArray inputIds;
        private NDArray inputsEmbeds;
        private NDArray attentionMask;
        private NDArray tokenTypeIds;
        private NDArray positionIds;
        private KeyValueCache keyValueCache;

        private Builder() {}

        public Builder inputIds(NDArray inputIds) {
            this.inputIds = inputIds;
            return this;
        }

        public Builder inputsEmbeds(NDArray inputsEmbeds) {
            this.inputsEmbeds = inputsEmbeds;
            return this;
        }

        public Builder attentionMask(NDArray attentionMask) {
            this.attentionMask = attentionMask;
            return this;
        }

        public Builder tokenTypeIds(NDArray tokenTypeIds) {
            this.tokenTypeIds = tokenTypeIds;
            return this;
        }

        public Builder positionIds(NDArray positionIds) {
            this.positionIds = positionIds;
            return this;
        }

        public Builder keyValueCache(KeyValueCache keyValueCache) {
            this.keyValueCache = keyValueCache;
            return this;
        }

        public ForwardContext build() {
            return new ForwardContext(this);
        }
    }
}

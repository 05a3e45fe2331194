package io.peft4j.sparse.hft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.tuner.ConfigJson;

import java.util.Objects;
import java.util.Set;

/**
 * Half Fine-Tuning (Hui et al. 2024, "HFT: Half Fine-Tuning for Large Language Models"): in every
 * training stage half of each layer's modules train and the other half stay frozen, drawn with
 * {@code seed} and drawn again at every stage boundary (see {@link HalfSelection} for the rule).
 * HF PEFT has no HFT; the saved {@code adapter_config.json} is peft4j's own, {@code peft_type} {@code HFT}.
 *
 * <p>Outside the layers: the embedding tables train when {@code train_embeddings} (default false);
 * everything else outside the layers (the task head, a pooler, the final norm, the embeddings'
 * LayerNorm) trains when {@code train_head} (default true, since a task head starts untrained).
 */
public final class HftConfig implements PeftConfig {
    public static final String TYPE = "HFT";
    private static final Set<String> FIELDS = Set.of("peft_type", "seed", "train_embeddings", "train_head");

    private final long seed;
    private final boolean trainEmbeddings;
    private final boolean trainHead;

    private HftConfig(Builder b) {
        this.seed = b.seed;
        this.trainEmbeddings = b.trainEmbeddings;
        this.trainHead = b.trainHead;
    }

    public static Builder builder() {
        return new Builder();
    }

    public long seed() {
        return seed;
    }

    public boolean trainEmbeddings() {
        return trainEmbeddings;
    }

    public boolean trainHead() {
        return trainHead;
    }

    @Override
    public String peftType() {
        return TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("peft_type", TYPE);
        n.put("seed", seed);
        n.put("train_embeddings", trainEmbeddings);
        n.put("train_head", trainHead);
        return n;
    }

    /** Reads the saved form; a field of the wrong type, or one HFT does not know, is an error naming it. */
    public static HftConfig fromJson(JsonNode json) {
        ConfigJson j = ConfigJson.of(json, "HFT config");
        String type = j.text("peft_type");
        if (type != null && !TYPE.equals(type)) {
            throw new IllegalArgumentException("HFT config: peft_type is '" + type + "', expected '" + TYPE + "'");
        }
        ObjectNode unknown = j.unknownFields(FIELDS);
        if (unknown.size() > 0) {
            throw new IllegalArgumentException("HFT config: unknown fields " + unknown.fieldNames().next()
                    + (unknown.size() > 1 ? " and " + (unknown.size() - 1) + " more" : "")
                    + "; HFT reads " + FIELDS);
        }
        Builder b = builder();
        JsonNode seed = json.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber()) {
                throw new IllegalArgumentException("HFT config: field 'seed' must be an integer, got " + seed);
            }
            b.seed(seed.longValue());
        }
        return b.trainEmbeddings(j.boolField("train_embeddings", false)).trainHead(j.boolField("train_head", true)).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HftConfig && ((HftConfig) o).seed == seed && ((HftConfig) o).trainEmbeddings == trainEmbeddings
                && ((HftConfig) o).trainHead == trainHead;
    }

    @Override
    public int hashCode() {
        return Objects.hash(seed, trainEmbeddings, trainHead);
    }

    @Override
    public String toString() {
        return "HftConfig" + toJson();
    }

    public static final class Builder {
        private long seed = 42;
        private boolean trainEmbeddings;
        private boolean trainHead = true;

        /** The seed of every stage's draw (stage {@code i} draws from {@code seed} and {@code i}). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder trainEmbeddings(boolean train) {
            this.trainEmbeddings = train;
            return this;
        }

        public Builder trainHead(boolean train) {
            this.trainHead = train;
            return this;
        }

        public HftConfig build() {
            return new HftConfig(this);
        }
    }
}

package io.peft4j.core.model;

/**
 * What every family's parsed {@code config.json} says in common, under transformers' field names.
 * A family's own config type implements it and adds the rest.
 */
public interface ModelConfig {
    /** {@code model_type}, e.g. {@code bert}, {@code roberta}. */
    String modelType();

    /** {@code vocab_size}. */
    int vocabSize();

    /** {@code hidden_size}. */
    int hiddenSize();

    /** {@code num_hidden_layers}. */
    int numHiddenLayers();

    /** The config as transformers writes {@code config.json}. */
    String toJson();
}

package io.peft4j.core.model;

import ai.djl.training.ParameterStore;

/**
 * A model whose forward takes named inputs ({@link ForwardContext}) and returns named outputs
 * ({@link ModelOutput}): what {@link io.peft4j.core.PeftModel#forward(ForwardContext, boolean)} runs.
 * Every root module of a model family implements it.
 */
public interface ContextModel {
    ModelOutput forward(ParameterStore ps, ForwardContext context, boolean training);
}

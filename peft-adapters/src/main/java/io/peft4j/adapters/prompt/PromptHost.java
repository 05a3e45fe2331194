package io.peft4j.adapters.prompt;

import io.peft4j.core.nn.Module;

/**
 * A base model (the {@code model}, {@code transformer} or {@code bert} child of the root) with
 * prompt-learning adapters: it holds the base's own children under their names, so every weight keeps
 * its transformers name, plus {@code prompt_encoder}, and rewrites each forward's context for the
 * active adapter. The root cannot be replaced, and the tasks and the generator call the root, so the
 * base model under it is where a prompt method enters.
 */
interface PromptHost {
    PromptAdapters adapters();

    /** The base module this host stands in for; put back when the last adapter goes. */
    Module original();
}

package io.peft4j.core.model.llama;

import io.peft4j.core.model.DecoderLmHeadModel;

/**
 * transformers' {@code LlamaForCausalLM} (and Mistral's and Qwen2's): {@code model} and {@code lm_head},
 * tied to {@code model.embed_tokens.weight} with {@code tie_word_embeddings}.
 */
public class LlamaForCausalLM extends DecoderLmHeadModel<LlamaConfig> {
    public LlamaForCausalLM(LlamaConfig config) {
        super(config, "model", new LlamaModel(config), "embed_tokens", config.tieWordEmbeddings());
    }
}

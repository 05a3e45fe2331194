package io.peft4j.core.model.gpt2;

import io.peft4j.core.model.DecoderLmHeadModel;

/**
 * transformers' {@code GPT2LMHeadModel}: {@code transformer} and {@code lm_head}, the head tied to
 * {@code transformer.wte.weight} (one parameter) unless {@code tie_word_embeddings} is false.
 */
public class GPT2LMHeadModel extends DecoderLmHeadModel<Gpt2Config> {
    public GPT2LMHeadModel(Gpt2Config config) {
        super(config, "transformer", new Gpt2Model(config), "wte", config.tieWordEmbeddings());
    }
}

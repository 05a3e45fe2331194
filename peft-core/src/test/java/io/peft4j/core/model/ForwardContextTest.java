package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.nn.Module;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

class ForwardContextTest {
    private static Batch batch(NDManager sm) {
        Batch b = TinyBert.task(3, 7).batch(sm, new int[] {0, 1, 2});
        // Padding in the last two positions of the first example, so the mask matters.
        long[] mask = new long[3 * TinyBert.SEQ];
        java.util.Arrays.fill(mask, 1L);
        mask[TinyBert.SEQ - 1] = 0;
        mask[TinyBert.SEQ - 2] = 0;
        return b.with(Batch.ATTENTION_MASK, sm.create(mask, new Shape(3, TinyBert.SEQ)));
    }

    @Test
    void inputsEmbedsOfTheWordEmbeddingsGiveTheSameOutputAsInputIds() {
        try (PeftModel m = TinyBert.classifier(1, 0f); NDManager sm = m.manager().newSubManager()) {
            Batch b = batch(sm);
            ModelOutput fromIds = m.forward(b, false);
            Module words = m.module("bert.embeddings.word_embeddings");
            NDArray embeds = words.forward(new ParameterStore(sm, false), new NDList(b.require(Batch.INPUT_IDS)), false)
                    .singletonOrThrow();
            ForwardContext ctx = ForwardContext.of(b).toBuilder().inputIds(null).inputsEmbeds(embeds).build();
            ModelOutput fromEmbeds = m.forward(ctx, false);
            // The same float operations in the same order: bit-identical.
            assertArrayEquals(fromIds.logits().toFloatArray(), fromEmbeds.logits().toFloatArray());
            assertArrayEquals(fromIds.lastHiddenState().toFloatArray(), fromEmbeds.lastHiddenState().toFloatArray());
            assertArrayEquals(fromIds.embeddings().toFloatArray(), fromEmbeds.embeddings().toFloatArray());
        }
    }

    @Test
    void namedForwardEqualsPositionalForwardAndDefaultPositions() {
        try (PeftModel m = TinyBert.classifier(2, 0f); NDManager sm = m.manager().newSubManager()) {
            Batch b = batch(sm);
            float[] positional = m.forward(TinyBert.modelInputs(b), false).get(0).toFloatArray();
            assertArrayEquals(positional, m.forward(b, false).logits().toFloatArray());
            NDArray positions = sm.arange(0L, (long) TinyBert.SEQ, 1L, DataType.INT64).expandDims(0);
            NDArray zeros = sm.zeros(new Shape(3, TinyBert.SEQ), DataType.INT64);
            Batch explicit = b.with(Batch.POSITION_IDS, positions).with(Batch.TOKEN_TYPE_IDS, zeros);
            assertArrayEquals(positional, m.forward(explicit, false).logits().toFloatArray());
            // Shifted positions change the output: the model does read position_ids.
            Batch shifted = b.with(Batch.POSITION_IDS, positions.add(1));
            assertFalse(java.util.Arrays.equals(positional, m.forward(shifted, false).logits().toFloatArray()));
        }
    }

    @Test
    void meanPoolingSkipsThePoolerAndOutputsAreNamed() {
        try (PeftModel m = TinyBert.classifier(3, 0f); NDManager sm = m.manager().newSubManager()) {
            ModelOutput out = m.forward(batch(sm), false);
            assertEquals(new Shape(3, 2), out.logits().getShape());
            assertEquals(new Shape(3, TinyBert.SEQ, 32), out.lastHiddenState().getShape());
            assertFalse(out.has(ModelOutput.POOLER_OUTPUT));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, out::pooled);
            assertTrue(e.getMessage().contains("logits"), e.getMessage());
        }
    }

    @Test
    void badContextsAreRefusedByName() {
        try (PeftModel m = TinyBert.classifier(4, 0f); NDManager sm = m.manager().newSubManager()) {
            Batch b = batch(sm);
            NDArray ids = b.require(Batch.INPUT_IDS);
            IllegalArgumentException neither = assertThrows(IllegalArgumentException.class,
                    () -> ForwardContext.builder().build());
            assertTrue(neither.getMessage().contains("input_ids and inputs_embeds"), neither.getMessage());
            IllegalArgumentException prefixed = assertThrows(IllegalArgumentException.class,
                    () -> ForwardContext.of(b, "anchor_"));
            assertTrue(prefixed.getMessage().contains("'anchor_input_ids'"), prefixed.getMessage());
            IllegalArgumentException mask = assertThrows(IllegalArgumentException.class,
                    () -> ForwardContext.builder().inputIds(ids).attentionMask(sm.ones(new Shape(3, 2))).build());
            assertTrue(mask.getMessage().contains("'attention_mask' has shape"), mask.getMessage());
            KeyValueCache cache = new KeyValueCache() {
                @Override
                public long length() {
                    return 0;
                }

                @Override
                public NDList layer(int index) {
                    return null;
                }

                @Override
                public NDList append(int index, NDArray keys, NDArray values) {
                    return new NDList(keys, values);
                }
            };
            ForwardContext withCache = ForwardContext.of(b).toBuilder().keyValueCache(cache).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(withCache, false));
            assertTrue(e.getMessage().contains("key/value cache"), e.getMessage());
        }
    }
}

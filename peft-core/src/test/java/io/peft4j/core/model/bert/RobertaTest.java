package io.peft4j.core.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RoBERTa and XLM-R as BERT-family variants. No RoBERTa weights or transformers-written reference exist
 * offline, so this checks what differs from BERT on tiny models built here: the config and checkpoint
 * names ({@code model_type}, {@code roberta.} keys beside an {@code lm_head}), and the position-id rule of
 * transformers' {@code create_position_ids_from_input_ids} against closed-form positions.
 */
class RobertaTest {
    @TempDir
    Path dir;

    private static final long PAD = 1;

    @Test
    void positionIdsStartAfterThePaddingIndexAndSkipPadding() {
        BertEmbeddings roberta = new BertEmbeddings(TinyEncoders.config(BertVariant.ROBERTA, 20).build());
        BertEmbeddings bert = new BertEmbeddings(TinyEncoders.config(BertVariant.BERT, 20).build());
        try (NDManager m = Compute.newManager()) {
            NDArray ids = m.create(new long[] {0, 5, 6, 2, 1, 1, 0, 7, 2, 1, 1, 1}, new Shape(2, 6));
            // real tokens: padding_idx + 1, + 2, ...; padding tokens: padding_idx
            assertArrayEquals(new long[] {2, 3, 4, 5, 1, 1, 2, 3, 4, 1, 1, 1}, roberta.positionIds(ids).toLongArray());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, bert.positionIds(ids).toLongArray());

            BertEmbeddings short10 = new BertEmbeddings(TinyEncoders.config(BertVariant.ROBERTA, 10).build());
            assertEquals(9, short10.positionIds(m.ones(new Shape(1, 8)).toType(ai.djl.ndarray.types.DataType.INT64, false)
                    .add(4)).toLongArray()[7], "eight tokens reach position 1 + 8 = 9 < 10");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> short10.positionIds(m.zeros(new Shape(1, 9), ai.djl.ndarray.types.DataType.INT64)));
            assertTrue(e.getMessage().contains("max_position_embeddings is 10") && e.getMessage().contains("at most 8 tokens"),
                    e.getMessage());
        }
    }

    /**
     * A RoBERTa encoder whose position table is P computes, on the real tokens of a padded batch, what
     * a BERT encoder with table {@code P[padding_idx + 1 :]} and otherwise equal weights computes:
     * both look up the same rows for them, and padding is masked out of attention. Same float32
     * operations in the same order, so the outputs agree to rounding (1e-6 absolute).
     */
    @Test
    void robertaEqualsBertWithThePositionTableShiftedByPaddingPlusOne() {
        BertConfig rc = TinyEncoders.config(BertVariant.ROBERTA, 18).build();
        BertCheckpoint roberta = TinyEncoders.checkpoint(rc, 5);
        BertConfig bc = TinyEncoders.config(BertVariant.BERT, 16).build();
        Map<String, Tensor> w = new LinkedHashMap<>(roberta.weights());
        float[] table = w.get("embeddings.position_embeddings.weight").toFloatArray();
        float[] shifted = Arrays.copyOfRange(table, (int) (PAD + 1) * 16, table.length);
        w.put("embeddings.position_embeddings.weight", Tensor.ofFloats(shifted, 16, 16));
        BertCheckpoint bert = new BertCheckpoint(bc, w, "shifted");
        long[] ids = {0, 5, 6, 9, 2, 1, 1, 1};
        long[] mask = {1, 1, 1, 1, 1, 0, 0, 0};
        try (PeftModel r = Bert.encoder(roberta, "tiny-roberta");
                PeftModel b = Bert.encoder(bert, "tiny-bert");
                NDManager io = Compute.newManager()) {
            assertEquals("RobertaModel", r.architecture());
            NDList in = new NDList(io.create(ids, new Shape(1, 8)), io.create(mask, new Shape(1, 8)));
            float[] ro = r.forward(in, false).get(0).toFloatArray();
            float[] bo = b.forward(in, false).get(0).toFloatArray();
            int real = 5 * 16;
            assertArrayEquals(Arrays.copyOf(bo, real), Arrays.copyOf(ro, real), 1e-6f);
        }
    }

    @Test
    void aTransformersRobertaDirectoryLoadsItsEncoderAndLeavesTheLmHeadOut() throws IOException {
        BertConfig rc = TinyEncoders.config(BertVariant.XLM_ROBERTA, 18).build();
        BertCheckpoint ckpt = TinyEncoders.checkpoint(rc, 6);
        Map<String, Tensor> file = new LinkedHashMap<>();
        ckpt.weights().forEach((k, v) -> file.put("roberta." + k, v));
        file.put("roberta.embeddings.token_type_ids", Tensor.ofFloats(new float[18], 1, 18));
        file.put("lm_head.dense.weight", Tensor.ofFloats(new float[16 * 16], 16, 16));
        file.put("lm_head.bias", Tensor.ofFloats(new float[64], 64));
        ShardedSafeTensors.writeSharded(dir, file, 1L << 20);
        Files.writeString(dir.resolve("config.json"), rc.toJson());

        BertCheckpoint back = BertCheckpoint.readHfDirectory(dir);
        assertEquals(BertVariant.XLM_ROBERTA, back.config().variant());
        assertEquals(1, back.config().padTokenId());
        assertEquals(ckpt.weights().keySet(), back.weights().keySet());
        try (PeftModel m = ModelFamilies.loadBaseModel(dir, "tiny-xlmr")) {
            assertEquals("XLMRobertaModel", m.architecture());
            assertInstanceOf(BertFamily.class, m.family());
            assertArrayEquals(ckpt.weights().get("encoder.layer.1.output.dense.weight").toFloatArray(),
                    m.parameter("encoder.layer.1.output.dense.weight").parameter().getArray().toFloatArray());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bert.sequenceClassifier(back, "tiny-xlmr", 2, Pooling.CLS));
        assertTrue(e.getMessage().contains("'xlm-roberta'") && e.getMessage().contains("Bert.encoder"), e.getMessage());
    }

    @Test
    void configJsonNamesTheVariantAndRefusesWhatIsNotBert() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"model_type\": \"roberta\", \"hidden_size\": 16, \"num_attention_heads\": 2,"
                + " \"max_position_embeddings\": 514, \"pad_token_id\": 1, \"layer_norm_eps\": 1e-05}");
        BertConfig c = BertConfig.fromJson(config);
        assertEquals(BertVariant.ROBERTA, c.variant());
        assertEquals(1e-5f, c.layerNormEps());

        Files.writeString(config, "{\"model_type\": \"mpnet\"}");
        IOException mpnet = assertThrows(IOException.class, () -> BertConfig.fromJson(config));
        assertTrue(mpnet.getMessage().contains("'mpnet'") && mpnet.getMessage().contains("relative attention bias"),
                mpnet.getMessage());

        Files.writeString(config, "{\"model_type\": \"bert\", \"hidden_size\": \"384\"}");
        IOException type = assertThrows(IOException.class, () -> BertConfig.fromJson(config));
        assertTrue(type.getMessage().contains(config.toString())
                && type.getMessage().contains("hidden_size must be an integer"), type.getMessage());
    }
}

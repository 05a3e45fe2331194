package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The same architecture from a transformers directory (config.json + sharded safetensors, "bert." names). */
class HfDirectoryLoadTest {
    @TempDir
    Path dir;

    @Test
    void hfDirectoryGivesTheSameOutputsAsTheOnnxFile() throws Exception {
        PretrainedEncoder pre = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint onnx = pre.checkpoint();
        Map<String, Tensor> prefixed = new LinkedHashMap<>();
        onnx.weights().forEach((k, v) -> prefixed.put("bert." + k, v));
        ShardedSafeTensors.writeSharded(dir, prefixed, 30L * 1024 * 1024);
        AtomicFiles.writeString(dir.resolve("config.json"), onnx.config().toJson());

        BertCheckpoint hf = BertCheckpoint.readHfDirectory(dir);
        assertEquals(onnx.config().toString(), hf.config().toString());
        try (TextTokenizer tok = pre.tokenizer(32);
                PeftModel a = Bert.encoder(onnx, pre.hubName());
                PeftModel b = Bert.encoder(hf, pre.hubName());
                NDManager m = a.manager().newSubManager()) {
            NDList in = tok.encode(m, List.of("Loaded twice, the same numbers.", "Short."));
            assertArrayEquals(a.forward(in, false).get(0).toFloatArray(), b.forward(in, false).get(0).toFloatArray());
            // MiniLM: 22,713,216 parameters, as its model card reports.
            assertEquals(22_713_216L, a.trainableReport().total());
        }
    }

    @Test
    void wrongShapeNamesTheTensorAndBothShapes() throws Exception {
        BertCheckpoint onnx = PretrainedEncoder.ALL_MINILM_L6_V2.checkpoint();
        Map<String, Tensor> w = new LinkedHashMap<>(onnx.weights());
        w.put("pooler.dense.bias", Tensor.ofFloats(new float[5], 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bert.encoder(new BertCheckpoint(onnx.config(), w, "bad-checkpoint"), "x"));
        assertTrue(e.getMessage().contains("bad-checkpoint") && e.getMessage().contains("pooler.dense.bias")
                && e.getMessage().contains("[5]") && e.getMessage().contains("(384)"), e.getMessage());
    }
}

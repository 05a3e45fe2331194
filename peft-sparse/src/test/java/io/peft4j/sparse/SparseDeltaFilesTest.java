package io.peft4j.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The file codec: keys as the reference implementation writes them, dtypes, a bit-exact round trip, clear errors. */
class SparseDeltaFilesTest {
    private static final Map<String, long[]> SHAPES = Map.of(
            "bert.encoder.layer.0.attention.self.query.weight", new long[] {4, 4},
            "bert.encoder.layer.0.attention.self.query.bias", new long[] {4});

    @Test
    void roundTripIsBitExactUnderReferenceKeys(@TempDir Path dir) throws Exception {
        SparseDelta w = SparseDelta.of("bert.encoder.layer.0.attention.self.query.weight", new long[] {4, 4},
                new long[] {15, 0, 7}, new float[] {Float.MIN_VALUE, -1.5e-7f, 3.1415927f});
        SparseDelta b = SparseDelta.of("bert.encoder.layer.0.attention.self.query.bias", new long[] {4},
                new long[] {2}, new float[] {0.1f});
        ObjectNode config = JsonNodeFactory.instance.objectNode().put("peft_type", "SPIEL");
        SparseDeltaFiles.write(dir, config, List.of(w, b), Map.of("base_model.model.classifier.weight",
                Tensor.ofFloats(new float[] {1f, 2f}, 1, 2)));

        Map<String, Tensor> raw = SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors();
        String prefix = "base_model.model.bert.encoder.layer.0.attention.self.query";
        assertEquals(DType.I32, raw.get(prefix + ".sft_delta.indices").dtype());
        assertEquals(DType.F32, raw.get(prefix + ".sft_delta.values").dtype());
        assertTrue(raw.containsKey(prefix + ".bias.sft_delta.values"));
        assertTrue(raw.containsKey("base_model.model.classifier.weight"));

        Map<String, SparseDelta> read = SparseDeltaFiles.read(dir, SHAPES::get);
        assertEquals(2, read.size());
        assertEquals(w, read.get(w.name()));
        assertEquals(b, read.get(b.name()));
        assertArrayEquals(new long[] {0, 7, 15}, read.get(w.name()).indices());
    }

    @Test
    void int64IndicesAreRead() {
        Map<String, Tensor> tensors = new HashMap<>();
        String prefix = "base_model.model.bert.encoder.layer.0.attention.self.query";
        tensors.put(prefix + ".sft_delta.indices", SparseDeltaFiles.indexTensor(new long[] {3, 1}, DType.I64));
        tensors.put(prefix + ".sft_delta.values", Tensor.ofFloats(new float[] {0.3f, 0.1f}, 2));
        SparseDelta d = SparseDeltaFiles.fromTensors(tensors, SHAPES::get).get(prefix.substring(17) + ".weight");
        assertArrayEquals(new long[] {1, 3}, d.indices());
        assertArrayEquals(new float[] {0.1f, 0.3f}, d.values(), 0f);
    }

    @Test
    void badTensorsAreReportedTogether() {
        Map<String, Tensor> tensors = new HashMap<>();
        tensors.put("base_model.model.nowhere.sft_delta.indices", SparseDeltaFiles.indexTensor(new long[] {0}, DType.I32));
        tensors.put("base_model.model.nowhere.sft_delta.values", Tensor.ofFloats(new float[] {1f}, 1));
        String q = "base_model.model.bert.encoder.layer.0.attention.self.query";
        tensors.put(q + ".sft_delta.indices", SparseDeltaFiles.indexTensor(new long[] {16}, DType.I32));
        tensors.put(q + ".sft_delta.values", Tensor.ofFloats(new float[] {1f}, 1));
        tensors.put(q + ".bias.sft_delta.values", Tensor.ofFloats(new float[] {1f}, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparseDeltaFiles.fromTensors(tensors, SHAPES::get));
        String msg = e.getMessage();
        assertTrue(msg.contains("no parameter nowhere.weight"), msg);
        assertTrue(msg.contains("index 16"), msg);
        assertTrue(msg.contains(q + ".bias.sft_delta.values has no .sft_delta.indices"), msg);
    }
}

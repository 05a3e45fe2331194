package io.peft4j.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** bitsandbytes' serialized layout, written here and read back, and read from tensors laid out by hand. */
class BnbTensorsTest {
    @TempDir
    Path dir;

    private static Tensor f32(float[] v, long... shape) {
        return Tensor.ofFloats(v, shape);
    }

    private static Tensor u8(byte[] v, long... shape) {
        return new Tensor(DType.U8, shape, ByteBuffer.wrap(v));
    }

    /** The JSON exactly as Python's json.dumps writes bitsandbytes' packed quant state. */
    private static Tensor packedState(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return u8(b, b.length);
    }

    @Test
    void readsAHandLaidOutDoubleQuantizedNf4Weight() {
        // A [4, 64] weight: 4 blocks; every code and scale chosen here, not by the quantizer.
        Random r = new Random(7);
        int rows = 4;
        int cols = 64;
        int n = rows * cols;
        int[] codes = new int[n];
        byte[] packed = new byte[n / 2];
        for (int i = 0; i < n; i++) {
            codes[i] = r.nextInt(16);
        }
        for (int i = 0; i < n / 2; i++) {
            packed[i] = (byte) (codes[2 * i] << 4 | codes[2 * i + 1]);
        }
        float[] dynamic = QuantCodes.dynamic8bit();
        byte[] qabsmax = {(byte) 200, (byte) 180, (byte) 250, (byte) 140};
        float nestedScale = 0.02f;
        float offset = 0.0123f;
        Map<String, Tensor> t = new LinkedHashMap<>();
        String k = "encoder.layer.0.attention.self.query.weight";
        t.put(k, u8(packed, n / 2, 1));
        t.put(k + ".absmax", u8(qabsmax, 4));
        t.put(k + ".quant_map", f32(QuantCodes.nf4(), 16));
        t.put(k + ".nested_absmax", f32(new float[] {nestedScale}, 1));
        t.put(k + ".nested_quant_map", f32(dynamic, 256));
        t.put(k + ".quant_state.bitsandbytes__nf4", packedState("{\"quant_type\": \"nf4\", \"blocksize\": 64, "
                + "\"dtype\": \"float16\", \"shape\": [4, 64], \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", "
                + "\"nested_offset\": 0.012299999594688416}"));
        try (NDManager m = Compute.newManager(); QuantizedTensor q = BnbTensors.read(t, k, m, "fixture")) {
            assertEquals(QuantType.NF4, q.state().type());
            assertEquals("float16", q.state().dtype());
            float[] got = Quantization.dequantize(q, DataType.FLOAT32, m).toFloatArray();
            float[] nf4 = QuantCodes.nf4();
            for (int i = 0; i < n; i++) {
                float absmax = dynamic[qabsmax[i / 64] & 0xFF] * nestedScale + offset;
                assertEquals(nf4[codes[i]] * absmax, got[i], 1e-7f, "element " + i);
            }
        }
    }

    @Test
    void writesBitsandbytesNamesAndReadsThemBack() throws Exception {
        Random r = new Random(8);
        float[] x = new float[96 * 80];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (NDManager m = Compute.newManager();
                QuantizedTensor q = Quantization.quantize(m.create(x, new Shape(96, 80)), QuantizationConfig.nf4(), m, "w")) {
            Map<String, Tensor> t = BnbTensors.write("dense.weight", q);
            assertEquals(List.of("dense.weight", "dense.weight.absmax", "dense.weight.quant_map", "dense.weight.nested_absmax",
                    "dense.weight.nested_quant_map", "dense.weight.quant_state.bitsandbytes__nf4"), List.copyOf(t.keySet()));
            assertArrayEquals(new long[] {96 * 80 / 2, 1}, t.get("dense.weight").shape());
            assertEquals(DType.U8, t.get("dense.weight.absmax").dtype());
            ByteBuffer json = t.get("dense.weight.quant_state.bitsandbytes__nf4").data();
            byte[] jb = new byte[json.remaining()];
            json.get(jb);
            JsonNode meta = new ObjectMapper().readTree(jb);
            assertEquals("nf4", meta.get("quant_type").asText());
            assertEquals(64, meta.get("blocksize").asInt());
            assertEquals("[96,80]", meta.get("shape").toString());
            assertEquals(256, meta.get("nested_blocksize").asInt());
            assertEquals(q.state().nested().offset(), (float) meta.get("nested_offset").asDouble(), 0f);

            Path file = dir.resolve("q.safetensors");
            SafeTensors.write(file, t);
            Map<String, Tensor> back = SafeTensors.read(file).tensors();
            try (QuantizedTensor r2 = BnbTensors.read(back, "dense.weight", m, file.toString())) {
                assertArrayEquals(Quantization.dequantize(q, DataType.FLOAT32, m).toFloatArray(),
                        Quantization.dequantize(r2, DataType.FLOAT32, m).toFloatArray());
            }
        }
    }

    @Test
    void badTensorsAreNamedInTheError() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a.weight", u8(new byte[30], 30, 1)); // an [8, 8] weight needs 32 bytes
        t.put("a.weight.absmax", f32(new float[1], 1));
        t.put("a.weight.quant_map", f32(QuantCodes.nf4(), 16));
        t.put("a.weight.quant_state.bitsandbytes__nf4",
                packedState("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [8, 8]}"));
        try (NDManager m = Compute.newManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BnbTensors.read(t, "a.weight", m, "f"));
            assertTrue(e.getMessage().contains("'a.weight'") && e.getMessage().contains("32 elements"), e.getMessage());
            t.put("a.weight.quant_state.bitsandbytes__nf4", packedState("{not json"));
            e = assertThrows(IllegalArgumentException.class, () -> BnbTensors.read(t, "a.weight", m, "f"));
            assertTrue(e.getMessage().contains("valid JSON"), e.getMessage());
            t.remove("a.weight.quant_state.bitsandbytes__nf4");
            t.put("a.weight.quant_state.bitsandbytes__nf4",
                    packedState("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [8, 8]}"));
            t.put("a.weight", u8(new byte[32], 32, 1));
            t.remove("a.weight.quant_map");
            e = assertThrows(IllegalArgumentException.class, () -> BnbTensors.read(t, "a.weight", m, "f"));
            assertTrue(e.getMessage().contains("a.weight.quant_map"), e.getMessage());
        }
    }

    @Test
    void aQuantizedCheckpointLoadsIntoQuantizedLayersWithTheSameOutputs() throws Exception {
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            ModelQuantizer.quantizeLinears(m, QuantizationConfig.nf4(), name -> name.startsWith("bert."));
            Path hf = dir.resolve("tiny-bnb");
            Files.createDirectories(hf);
            BnbCheckpoint.save(m, "", hf.resolve("model.safetensors"));
            Files.writeString(hf.resolve("config.json"), TinyBert.config(0f).toJson());
            BertCheckpoint ckpt = BertCheckpoint.readHfDirectory(hf);
            try (PeftModel back = Bert.sequenceClassifier(ckpt, "tiny", 2, io.peft4j.core.model.bert.Pooling.MEAN);
                    NDManager io = Compute.newManager()) {
                assertEquals(ModelQuantizer.quantizedLayers(m).size(), ModelQuantizer.quantizedLayers(back).size());
                // same classifier so the logits compare
                back.module("classifier").setParameterArray("weight", ((io.peft4j.core.nn.Linear) m.module("classifier")).weight().duplicate());
                NDList in = TinyBert.modelInputs(TinyBert.task(4, 1).batch(io, new int[] {0, 1, 2, 3}));
                float[] a = m.forward(in, false).get(0).toFloatArray();
                float[] b = back.forward(in, false).get(0).toFloatArray();
                assertArrayEquals(a, b, 0f);
            }
        }
    }


}

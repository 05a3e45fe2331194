package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.quant.QuantizedTensor;
import io.peft4j.core.quant.Quantization;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;
import io.peft4j.sparse.SparseDelta;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Save/load, merge/unmerge and a 4-bit base, on a trained TinyBert SpIEL adapter. */
class SpielFilesTest {
    private static final String QUERY = "bert.encoder.layer.0.attention.self.query";

    private static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void savedAdapterReloadsBitExactUnderTheReferenceKeys(@TempDir Path dir) throws Exception {
        float[] trained;
        Map<String, SparseDelta> deltas;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            Peft.wrap(m, SpielTrainingTest.config().build());
            SpielTrainingTest.train(m, 1);
            trained = SpielTrainingTest.logits(m);
            deltas = SpielModel.of(m).deltas("default");
            Peft.wrap(m, SpielTrainingTest.config().build(), "second");   // a second adapter is not saved with the first
            SpielModel.of(m).save(dir, "default");
        }
        Map<String, Tensor> raw = SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors();
        assertEquals(DType.I32, raw.get("base_model.model." + QUERY + ".sft_delta.indices").dtype());
        assertEquals(DType.F32, raw.get("base_model.model." + QUERY + ".sft_delta.values").dtype());
        assertTrue(raw.containsKey("base_model.model.classifier.weight"));
        assertEquals(2 * 12 + 2, raw.size(), "indices and values for 12 layers, the classifier's weight and bias");
        String config = Files.readString(dir.resolve(AdapterFiles.CONFIG_FILE));
        assertTrue(config.contains("\"peft_type\" : \"SPIEL\""), config);

        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            Peft.load(fresh, dir);
            assertArrayEquals(trained, SpielTrainingTest.logits(fresh), "reloaded adapter gives the trained logits");
            assertEquals(deltas, SpielModel.of(fresh).deltas("default"));
        }
    }

    @Test
    void mergedEqualsUnmergedAndUnmergeRestoresTheBase() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            Map<String, float[]> base = Weights.snapshot(m);
            SpielModel spiel = SpielModel.wrap(m, SpielTrainingTest.config().build());
            SpielTrainingTest.train(m, 1);
            float[] unmerged = SpielTrainingTest.logits(m);
            spiel.merge();
            float[] merged = SpielTrainingTest.logits(m);
            // float32: W + d in one addition either way; 1e-5 covers the different summation order in the matmul.
            assertTrue(maxAbsDiff(unmerged, merged) < 1e-5, "merged vs unmerged: " + maxAbsDiff(unmerged, merged));
            spiel.unmerge();
            float[] w = ((Linear) spiel.layers().get(QUERY).base()).weight().toFloatArray();
            assertArrayEquals(base.get(QUERY + ".weight"), w, 1e-6f, "W + d - d is W up to one rounding");
            PeftModel plain = spiel.mergeAndUnload();
            for (Module mod : plain.namedModules().values()) {
                assertFalse(mod instanceof SpielLinear, "no SpIEL layer left");
            }
            assertTrue(maxAbsDiff(unmerged, SpielTrainingTest.logits(plain)) < 1e-5);
        }
    }

    @Test
    void badAdapterFilesFailClearlyAndLeaveTheModelAsItWas(@TempDir Path dir) throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            Peft.wrap(m, SpielTrainingTest.config().build());
            SpielModel.of(m).save(dir, "default");
        }
        Map<String, Tensor> tensors = new HashMap<>(SafeTensors.read(dir.resolve(AdapterFiles.WEIGHTS_FILE)).tensors());
        tensors.remove("base_model.model." + QUERY + ".sft_delta.values");
        SafeTensors.write(dir.resolve(AdapterFiles.WEIGHTS_FILE), tensors);
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            float[] before = SpielTrainingTest.logits(fresh);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peft.load(fresh, dir));
            assertTrue(e.getMessage().contains(QUERY), e.getMessage());
            for (Module mod : fresh.namedModules().values()) {
                assertFalse(mod instanceof SpielLinear, "nothing wrapped after a failed load");
            }
            assertTrue(fresh.adapters().isEmpty());
            assertArrayEquals(before, SpielTrainingTest.logits(fresh));
        }
    }

    @Test
    void fourBitBaseTrainsAndMergesAsDequantizeAddRequantize() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            QuantizationConfig nf4 = QuantizationConfig.builder().skipModules("classifier").build();
            ModelQuantizer.quantizeLinears(m, nf4);
            SpielModel spiel = SpielModel.wrap(m, SpielTrainingTest.config().build());
            float[] init = SpielTrainingTest.logits(m);
            SpielTrainingTest.train(m, 1);
            float[] trained = SpielTrainingTest.logits(m);
            assertTrue(maxAbsDiff(init, trained) > 1e-3, "the 4-bit model's output moved with training");
            QuantizedLinear q = (QuantizedLinear) spiel.layers().get(QUERY).base();
            SparseDelta d = spiel.deltas("default").get(QUERY + ".weight");
            assertTrue(maxAbsDiff(d.values(), new float[d.size()]) > 0, "values trained");
            float[] expected;
            try (NDManager tmp = m.manager().newSubManager()) {
                // dequantize, add the delta (scattered here by hand from its indices), quantize again
                float[] w = q.dequantizedWeight(tmp).toFloatArray();
                long[] idx = d.indices();
                float[] val = d.values();
                for (int i = 0; i < idx.length; i++) {
                    w[(int) idx[i]] += val[i];
                }
                NDArray sum = tmp.create(w, new ai.djl.ndarray.types.Shape(q.outFeatures(), q.inFeatures()));
                try (QuantizedTensor t = Quantization.quantize(sum, q.config(), tmp, "expected")) {
                    expected = Quantization.dequantize(t, DataType.FLOAT32, tmp).toFloatArray();
                }
            }
            spiel.merge();
            float[] merged;
            try (NDManager tmp = m.manager().newSubManager()) {
                merged = q.dequantizedWeight(tmp).toFloatArray();
            }
            assertArrayEquals(expected, merged, "merge = quantize(dequantize(W) + delta)");
        }
    }
}

package io.peft4j.lora;

import static io.peft4j.lora.LoraFixtures.logits;
import static io.peft4j.lora.LoraFixtures.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.quant.Quantization;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.quant.QuantizedLinear;
import io.peft4j.core.quant.QuantizedTensor;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class QLoraTest {
    @TempDir
    Path dir;

    private static LoraConfig.Builder qv() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value").modulesToSave("classifier");
    }

    private static QuantizedLinear quantizedBase(LoraModel lora, String name) {
        return (QuantizedLinear) ((LoraLinear) lora.layers().get(name)).base();
    }

    private static void train(PeftModel m, int steps) {
        TrainingConfig cfg = TrainingConfig.builder().epochs(steps * 4 / 32).batchSize(4).learningRate(1e-2f)
                .warmupRatio(0.1f).weightDecay(0.01f)
                .progressBar(false).build();
        new Trainer(m, cfg).fit(TinyBert.task(32, 9), null);
    }

    @Test
    void quantizesEveryLinearButTheHeadAndTrainsOnlyTheAdapters() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            long denseBytes = m.weightBytes();
            LoraModel lora = QLora.wrap(m, qv().build());
            assertTrue(quantizedBase(lora, "bert.encoder.layer.0.attention.self.query") != null);
            assertTrue(m.module("bert.encoder.layer.1.intermediate.dense") instanceof QuantizedLinear);
            assertTrue(m.module("classifier") instanceof Linear, "modules_to_save stay float32");
            assertTrue(m.weightBytes() < denseBytes);
            try (NDManager step = m.manager().newSubManager();
                    GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDList in = TinyBert.modelInputs(LoraFixtures.BATCH.batch(step, new int[] {0, 1, 2, 3}));
                gc.backward(m.forward(in, true).head().square().sum());
            }
            for (NamedParameter p : m.namedParameters()) {
                boolean expected = p.name().contains(".lora_") || p.name().startsWith("classifier.");
                assertEquals(expected, p.isTrainable(), p.name());
                if (!expected) {
                    assertFalse(p.parameter().getArray().hasGradient(), "frozen " + p.name());
                } else if (p.name().contains("lora_B") && p.name().contains("layer.0")) {
                    // layer 0's adapters get their gradient through every quantized layer above them
                    assertTrue(p.parameter().getArray().getGradient().abs().sum().getFloat() > 0, p.name());
                }
            }
        }
    }

    @Test
    void mergingToFloat32IsExactAndRequantizingAddsMeasuredError() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = QLora.wrap(m, qv().initLoraWeights(InitLoraWeights.RANDOM).build());
            String name = "bert.encoder.layer.0.attention.self.query";
            float[] unmerged = logits(m);
            float[] exactWeight;
            float[] requantizedWeight;
            try (NDManager tmp = m.manager().newSubManager()) {
                NDArray w = quantizedBase(lora, name).dequantizedWeight(tmp);
                LoraLinear layer = (LoraLinear) lora.layers().get(name);
                NDArray delta = layer.loraB("default").matMul(layer.loraA("default")).mul(2f);
                NDArray exact = w.add(delta);
                exactWeight = exact.toFloatArray();
                try (QuantizedTensor q = Quantization.quantize(exact, quantizedBase(lora, name).config(), tmp, "x")) {
                    requantizedWeight = Quantization.dequantize(q, DataType.FLOAT32, tmp).toFloatArray();
                }
            }

            lora.merge();
            float[] merged = logits(m);
            float[] mergedWeight = quantizedBase(lora, name).dequantizedWeight(m.manager()).toFloatArray();
            assertArrayEquals(requantizedWeight, mergedWeight, "merge re-quantizes dequant(W) + s B A");
            double err = 0;
            double scale = 0;
            for (int i = 0; i < exactWeight.length; i++) {
                err += Math.abs(mergedWeight[i] - exactWeight[i]);
                scale += Math.abs(exactWeight[i]);
            }
            double relative = err / scale;
            System.out.printf("QLoRA merge with re-quantization: weight MAE / mean |W| = %.4f, logits moved by %.4f%n",
                    relative, maxAbsDiff(unmerged, merged));
            // NF4's rounding on near-normal weights: about 0.09 of the mean magnitude
            assertTrue(relative < 0.15, "relative error " + relative);
            lora.unmerge();
            // Unmerging re-quantizes dequant(W') - s B A: the base drifts by another rounding (as in HF PEFT).
            float[] afterUnmerge = logits(m);
            System.out.printf("QLoRA unmerge after a re-quantizing merge: logits moved by %.4f%n",
                    maxAbsDiff(unmerged, afterUnmerge));
            assertTrue(maxAbsDiff(unmerged, afterUnmerge) < 0.05);

            PeftModel plain = lora.mergeAndUnload(QuantizedMerge.DEQUANTIZE);
            for (Module mod : plain.namedModules().values()) {
                assertFalse(mod instanceof LoraLayer || mod instanceof QuantizedLinear, "plain float32 model: " + mod);
            }
            // float32 arithmetic only: merged weights give the unmerged QLoRA logits
            assertTrue(maxAbsDiff(afterUnmerge, logits(plain)) < 1e-5, "float32 merge vs unmerged QLoRA");
        }
    }

    @Test
    void doraOnAQuantizedBaseMergesToWhatItComputes() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] before = logits(m);
            LoraModel lora = QLora.wrap(m, qv().useDora(true).build());
            float[] init = logits(m);
            assertTrue(maxAbsDiff(before, init) < 0.1, "4-bit base stays close to the float32 model");
            train(m, 16);
            float[] trained = logits(m);
            assertTrue(maxAbsDiff(init, trained) > 1e-3);
            PeftModel plain = lora.mergeAndUnload(QuantizedMerge.DEQUANTIZE);
            assertTrue(maxAbsDiff(trained, logits(plain)) < 1e-5);
        }
    }

    @Test
    void adapterFilesAreLoraFilesAndReloadOntoAFreshlyQuantizedBase() throws Exception {
        float[] trained;
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = QLora.wrap(m, qv().build());
            train(m, 16);
            trained = logits(m);
            lora.save(dir);
        }
        LoraConfig saved = LoraConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile()));
        assertEquals(4, saved.r());
        try (PeftModel fresh = TinyBert.classifier(1, 0f)) {
            io.peft4j.core.quant.ModelQuantizer.quantizeLinears(fresh,
                    QuantizationConfig.builder().skipModules("classifier").build());
            LoraModel.load(fresh, dir, false);
            // The same float32 base quantizes to the same codes, so the reload is bit-exact.
            assertArrayEquals(trained, logits(fresh));
        }
    }

    @Test
    void pissaIsRefusedBeforeAnythingIsQuantized() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QLora.wrap(m, qv().initLoraWeights(InitLoraWeights.PISSA).build()));
            assertTrue(e.getMessage().contains("pissa"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> QLora.wrap(m, qv().targetModules("nope").build()));
            for (Module mod : m.namedModules().values()) {
                assertFalse(mod instanceof QuantizedLinear, "the model must be left as it was");
            }
        }
    }
}

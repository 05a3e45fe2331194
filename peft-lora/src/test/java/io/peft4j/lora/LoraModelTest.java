package io.peft4j.lora;

import static io.peft4j.lora.LoraFixtures.logits;
import static io.peft4j.lora.LoraFixtures.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.testing.Weights;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

class LoraModelTest {
    private static LoraConfig.Builder qv() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value").modulesToSave("classifier");
    }

    @Test
    void defaultInitForwardEqualsBase() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] base = logits(m);
            LoraModel lora = LoraModel.wrap(m, qv().build());
            assertEquals(4, lora.layers().size(), "query and value in 2 layers");
            assertArrayEquals(base, logits(m), "B = 0 at init, so the output is the base output exactly");
            assertTrue(lora.layers().containsKey("bert.encoder.layer.1.attention.self.value"));
        }
    }

    @Test
    void onlyLoraAndModulesToSaveGetGradients() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel.wrap(m, qv().build());
            for (NamedParameter p : m.namedParameters()) {
                boolean expected = p.name().contains(".lora_") || p.name().startsWith("classifier.");
                assertEquals(expected, p.isTrainable(), p.name());
            }
            try (NDManager step = m.manager().newSubManager();
                    GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDList in = TinyBert.modelInputs(LoraFixtures.BATCH.batch(step, new int[] {0, 1, 2, 3}));
                NDArray out = m.forward(in, true).head();
                gc.backward(out.square().sum());
            }
            for (NamedParameter p : m.namedParameters()) {
                NDArray a = p.parameter().getArray();
                if (!p.isTrainable()) {
                    assertFalse(a.hasGradient(), "frozen " + p.name() + " must have no gradient");
                } else if (p.name().contains("lora_B") || p.name().startsWith("classifier.")) {
                    assertTrue(a.getGradient().abs().sum().getFloat() > 0, "no gradient reached " + p.name());
                }
            }
        }
    }

    @Test
    void mergedForwardEqualsUnmergedAndUnmergeRestores() {
        for (boolean dora : new boolean[] {false, true}) {
            try (PeftModel m = TinyBert.classifier(1, 0f)) {
                Map<String, float[]> before = Weights.snapshot(m);
                LoraModel lora = LoraModel.wrap(m, qv().useDora(dora).initLoraWeights(InitLoraWeights.RANDOM).build());
                float[] unmerged = logits(m);
                assertTrue(maxAbsDiff(unmerged, baseLogits()) > 1e-3, "random init must change the output");
                lora.merge();
                assertTrue(lora.isMerged());
                assertTrue(maxAbsDiff(unmerged, logits(m)) < 1e-5, "merged vs unmerged, DoRA=" + dora);
                lora.unmerge();
                float[] q = ((Linear) ((LoraLinear) lora.layers().get("bert.encoder.layer.0.attention.self.query")).base()).weight().toFloatArray();
                assertTrue(maxAbsDiff(q, before.get("bert.encoder.layer.0.attention.self.query.weight")) < 1e-6,
                        "unmerge restores the base weight");
                assertTrue(maxAbsDiff(unmerged, logits(m)) < 1e-5);
                PeftModel plain = lora.mergeAndUnload();
                for (Module mod : plain.namedModules().values()) {
                    assertFalse(mod instanceof LoraLayer, "mergeAndUnload leaves no LoRA layer");
                }
                assertTrue(plain.module("bert.encoder.layer.0.attention.self.query") instanceof Linear);
                assertTrue(plain.adapters().isEmpty());
                assertTrue(maxAbsDiff(unmerged, logits(plain)) < 1e-5);
            }
        }
    }

    private static float[] baseLogits() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            return logits(m);
        }
    }

    @Test
    void doraEqualsBaseAtInit() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] base = logits(m);
            LoraModel lora = LoraModel.wrap(m, qv().useDora(true).build());
            assertTrue(maxAbsDiff(base, logits(m)) < 1e-6);
            NDArray mag = m.parameter("bert.encoder.layer.0.attention.self.query.lora_magnitude_vector.default.weight")
                    .parameter().getArray();
            NDArray w = ((Linear) ((LoraLinear) lora.layers().get("bert.encoder.layer.0.attention.self.query")).base()).weight();
            assertTrue(maxAbsDiff(mag.toFloatArray(), w.norm(new int[] {1}).toFloatArray()) < 1e-6,
                    "magnitude starts as the row norms of W");
        }
    }

    @Test
    void pissaReconstructsTheBaseWeight() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] base = logits(m);
            float[] w = m.parameter("bert.encoder.layer.0.attention.self.query.weight").parameter().getArray().toFloatArray();
            LoraModel lora = LoraModel.wrap(m, qv().initLoraWeights(InitLoraWeights.PISSA).build());
            LoraLinear q = (LoraLinear) lora.layers().get("bert.encoder.layer.0.attention.self.query");
            float s = q.settings("default").scaling();
            float[] res = ((Linear) q.base()).weight().toFloatArray();
            float[] a = q.loraA("default").toFloatArray();
            float[] b = q.loraB("default").toFloatArray();
            int out = 32;
            int in = 32;
            int r = 4;
            double maxErr = 0;
            double maxResidual = 0;
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double ba = 0;
                    for (int k = 0; k < r; k++) {
                        ba += (double) b[o * r + k] * a[k * in + i];
                    }
                    maxErr = Math.max(maxErr, Math.abs(res[o * in + i] + s * ba - w[o * in + i]));
                    maxResidual = Math.max(maxResidual, Math.abs(res[o * in + i] - w[o * in + i]));
                }
            }
            assertTrue(maxErr < 1e-5, "W_res + s B A == W, max error " + maxErr);
            assertTrue(maxResidual > 1e-3, "the residual really differs from W");
            assertTrue(maxAbsDiff(base, logits(m)) < 1e-5);
            // A's rows are orthogonal (scaled right singular vectors): A A^T is diagonal.
            double off = 0;
            for (int k = 0; k < r; k++) {
                for (int l = 0; l < r; l++) {
                    if (k != l) {
                        double dot = 0;
                        for (int i = 0; i < in; i++) {
                            dot += (double) a[k * in + i] * a[l * in + i];
                        }
                        off = Math.max(off, Math.abs(dot));
                    }
                }
            }
            assertTrue(off < 1e-5, "rows of A orthogonal, off-diagonal " + off);
        }
    }

    @Test
    void rsloraScalesByAlphaOverSqrtR() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, qv().r(16).loraAlpha(8).useRslora(true).build());
            assertEquals(8 / 4f, lora.layers().get("bert.encoder.layer.0.attention.self.query").settings("default").scaling(), 1e-7);
        }
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, qv().r(16).loraAlpha(8).build());
            assertEquals(0.5f, lora.layers().get("bert.encoder.layer.0.attention.self.query").settings("default").scaling(), 1e-7);
        }
    }

    @Test
    void eachAdapterGivesItsOwnOutput() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, qv().initLoraWeights(InitLoraWeights.RANDOM).build());
            // Give adapter "default" its own classifier, as training would.
            NamedParameter cls = m.parameter("classifier.weight");
            cls.module().setParameterArray("weight", cls.parameter().getArray().mul(3f));
            float[] outDefault = logits(m);
            lora.addAdapter("other", qv().r(2).targetModules("key").initLoraWeights(InitLoraWeights.RANDOM).build());
            assertEquals("default", lora.activeAdapter(), "adding does not activate, as in HF PEFT");
            assertArrayEquals(outDefault, logits(m));
            lora.setAdapter("other");
            float[] outOther = logits(m);
            assertTrue(maxAbsDiff(outDefault, outOther) > 1e-3);
            for (NamedParameter p : m.trainableParameters()) {
                assertTrue(p.name().contains(".other") || p.name().startsWith("classifier."), p.name());
            }
            lora.setAdapter("default");
            assertArrayEquals(outDefault, logits(m), "switching back gives adapter 'default' exactly, classifier included");
            try (LoraModel.AdaptersOff off = lora.disableAdapters()) {
                assertArrayEquals(baseLogits(), logits(m), "disabled: the base model, original classifier included");
                assertTrue(m.trainableParameters().isEmpty());
            }
            assertArrayEquals(outDefault, logits(m));
            lora.deleteAdapter("default");
            assertEquals("other", lora.activeAdapter());
            assertArrayEquals(outOther, logits(m));
            assertTrue(m.module("bert.encoder.layer.0.attention.self.query") instanceof Linear,
                    "layers without adapters are unwrapped");
            lora.deleteAdapter("other");
            assertArrayEquals(baseLogits(), logits(m));
            assertTrue(lora.layers().isEmpty());
        }
    }

    @Test
    void weightedAdapterCatIsTheExactWeightedSum() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, LoraConfig.builder().r(2).loraAlpha(4).targetModules("query")
                    .initLoraWeights(InitLoraWeights.RANDOM).build());
            lora.addAdapter("b", LoraConfig.builder().r(3).loraAlpha(3).targetModules("query")
                    .initLoraWeights(InitLoraWeights.RANDOM).build());
            lora.addAdapter("c", LoraConfig.builder().r(2).loraAlpha(1).targetModules("query")
                    .initLoraWeights(InitLoraWeights.RANDOM).build());
            LoraLinear q = (LoraLinear) lora.layers().get("bert.encoder.layer.0.attention.self.query");
            double[] want = new double[32 * 32];
            addDelta(want, q, "default", 0.7);
            addDelta(want, q, "b", -0.4);
            lora.addWeightedAdapter(List.of("default", "b"), List.of(0.7, -0.4), "mix", Combination.CAT);
            assertEquals(5, q.settings("mix").r());
            assertEquals(1f, q.settings("mix").scaling());
            double[] got = new double[32 * 32];
            addDelta(got, q, "mix", 1);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> lora.addWeightedAdapter(List.of("default", "b"), List.of(0.5, 0.5), "lin", Combination.LINEAR));
            assertTrue(e.getMessage().contains("one rank"), e.getMessage());
            lora.addWeightedAdapter(List.of("default", "c"), List.of(0.25, 1.0), "lin", Combination.LINEAR);
            // LINEAR: (sum sqrt(w_i) B_i)(sum sqrt(w_j) s_j A_j), cross terms included, as HF PEFT computes it.
            float[] a1 = q.loraA("default").toFloatArray();
            float[] b1 = q.loraB("default").toFloatArray();
            float[] a2 = q.loraA("c").toFloatArray();
            float[] b2 = q.loraB("c").toFloatArray();
            float s1 = q.settings("default").scaling();
            float s2 = q.settings("c").scaling();
            float[] a = q.loraA("lin").toFloatArray();
            float[] b = q.loraB("lin").toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(0.5 * s1 * a1[i] + 1.0 * s2 * a2[i], a[i], 1e-6);
            }
            for (int i = 0; i < b.length; i++) {
                assertEquals(0.5 * b1[i] + 1.0 * b2[i], b[i], 1e-6);
            }
        }
    }

    private static void addDelta(double[] acc, LoraLinear l, String adapter, double weight) {
        float[] a = l.loraA(adapter).toFloatArray();
        float[] b = l.loraB(adapter).toFloatArray();
        int r = l.settings(adapter).r();
        double s = l.settings(adapter).scaling();
        for (int o = 0; o < 32; o++) {
            for (int i = 0; i < 32; i++) {
                double v = 0;
                for (int k = 0; k < r; k++) {
                    v += (double) b[o * r + k] * a[k * 32 + i];
                }
                acc[o * 32 + i] += weight * s * v;
            }
        }
    }

    @Test
    void allLinearSkipsModulesToSaveAndHonoursLayersAndExclusions() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, LoraConfig.builder().allLinear().modulesToSave("classifier")
                    .excludeModules("pooler.dense").build());
            assertFalse(lora.layers().containsKey("classifier"));
            assertFalse(lora.layers().containsKey("bert.pooler.dense"));
            assertEquals(12, lora.layers().size(), "q, k, v, attention out, intermediate, output in 2 layers");
        }
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            LoraModel lora = LoraModel.wrap(m, qv().layersToTransform(1).layersPattern("layer")
                    .rankPattern("value", 2).alphaPattern("value", 6).build());
            assertEquals(List.of("bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value"),
                    List.copyOf(lora.layers().keySet()));
            assertEquals(2, lora.layers().get("bert.encoder.layer.1.attention.self.value").settings("default").r());
            assertEquals(3f, lora.layers().get("bert.encoder.layer.1.attention.self.value").settings("default").scaling());
        }
    }

    @Test
    void embeddingLoraMatchesClosedForm() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            float[] base = logits(m);
            LoraModel lora = LoraModel.wrap(m, LoraConfig.builder().r(3).loraAlpha(6).targetModules("word_embeddings").build());
            assertArrayEquals(base, logits(m), "A = 0 at init");
            LoraEmbedding emb = (LoraEmbedding) lora.layers().get("bert.embeddings.word_embeddings");
            emb.setMatrices("default", m.manager().randomNormal(new ai.djl.ndarray.types.Shape(3, TinyBert.VOCAB)),
                    m.manager().randomNormal(new ai.djl.ndarray.types.Shape(32, 3)));
            try (NDManager s = m.manager().newSubManager()) {
                NDArray ids = s.create(new long[] {5, 7, 0});
                float[] got = emb.forward(new ai.djl.training.ParameterStore(s, false), new NDList(ids), false).head().toFloatArray();
                float[] e = emb.base().weight().toFloatArray();
                float[] a = emb.matrixA("default").toFloatArray();
                float[] b = emb.matrixB("default").toFloatArray();
                long[] idv = {5, 7, 0};
                for (int t = 0; t < 3; t++) {
                    for (int d = 0; d < 32; d++) {
                        double v = e[(int) idv[t] * 32 + d];
                        for (int k = 0; k < 3; k++) {
                            v += 2.0 * a[k * TinyBert.VOCAB + (int) idv[t]] * b[d * 3 + k];
                        }
                        assertEquals(v, got[t * 32 + d], 1e-5);
                    }
                }
            }
            float[] unmerged = logits(m);
            lora.merge();
            assertTrue(maxAbsDiff(unmerged, logits(m)) < 1e-5);
        }
    }

    @Test
    void badConfigsFailClearlyAndLeaveTheModelAsItWas() {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            Map<String, float[]> before = Weights.snapshot(m);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LoraModel.wrap(m, LoraConfig.builder().targetModules("quarry").build()));
            assertTrue(e.getMessage().contains("quarry") && e.getMessage().contains("attention.self.query"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().r(0).build());
            assertTrue(e.getMessage().contains("r must be > 0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> LoraModel.wrap(m, LoraConfig.builder().targetModules("attention").build()));
            assertTrue(e.getMessage().contains("linear and embedding"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(m,
                    LoraConfig.builder().targetModules("query", "word_embeddings").useDora(true).build()));
            assertTrue(e.getMessage().contains("DoRA"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(m,
                    LoraConfig.builder().r(40).targetModules("query").initLoraWeights(InitLoraWeights.PISSA).build()));
            assertTrue(e.getMessage().contains("PiSSA"), e.getMessage());
            assertTrue(m.adapters().isEmpty());
            assertTrue(LoraModel.of(m).layers().isEmpty());
            Map<String, float[]> after = Weights.snapshot(m);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
            assertNotNull(e);
        }
    }
}

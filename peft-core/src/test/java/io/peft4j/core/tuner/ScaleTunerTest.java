package io.peft4j.core.tuner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tuner base on a method written only against it: an IA3-style output scale {@code y = (W x + b) * l}
 * with one vector {@code l} per adapter (HF PEFT's {@code ia3_l}). Expected values are the closed form
 * computed here in double from the layer's weights; tolerance 1e-5 (float32 dot products of length 32).
 */
class ScaleTunerTest {
    private static final String Q = "bert.encoder.layer.0.attention.self.query";

    @TempDir
    Path dir;

    static final class ScaleConfig extends TunerConfig {
        private ScaleConfig(Builder b) {
            super(b);
        }

        @Override
        public String peftType() {
            return "SCALE";
        }

        @Override
        protected void writeFields(ObjectNode json) {}

        static final class Builder extends TunerConfig.Builder<ScaleConfig, Builder> {
            @Override
            protected Builder self() {
                return this;
            }

            @Override
            public ScaleConfig build() {
                return new ScaleConfig(this);
            }
        }
    }

    static final class ScaleLayer extends AdapterLayer {
        private final Linear base;
        private final Map<String, float[]> beforeMerge = new LinkedHashMap<>();

        ScaleLayer(Linear base) {
            super(base);
            this.base = base;
            registerModule("ia3_l", new Holder());
        }

        /** Parameters named by adapter, as HF PEFT's ParameterDict. */
        static final class Holder extends Module {
            void put(String name, long size, NDManager m) {
                registerParameter(name, Parameter.Type.WEIGHT, new Shape(size), Initializer.ONES);
                initializeMissing(m);
            }

            void remove(String name) {
                unregisterParameter(name);
            }

            @Override
            protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training,
                    ai.djl.util.PairList<String, Object> params) {
                throw new UnsupportedOperationException("holds parameters only");
            }

            @Override
            public Shape[] getOutputShapes(Shape[] inputShapes) {
                return inputShapes;
            }
        }

        private Holder holder() {
            return (Holder) child("ia3_l");
        }

        void add(String name, NDManager m) {
            holder().put(name, base.outFeatures(), m);
            adapterCreated(name);
        }

        NDArray scale(String name) {
            return holder().parameters().get(name).getArray();
        }

        @Override
        protected void removeAdapter(String name) {
            holder().remove(name);
        }

        @Override
        public Map<String, NDArray> adapterArrays(String name) {
            return Map.of("ia3_l." + name, scale(name));
        }

        @Override
        protected NDArray applyAdapter(NDArray input, NDArray baseOutput, String adapter, boolean training) {
            return baseOutput.mul(scale(adapter));
        }

        @Override
        protected void mergeAdapter(String name) {
            beforeMerge.put(name, base.weight().toFloatArray());
            NDManager m = base.weight().getManager();
            NDArray w = base.readWeight(m);
            NDArray scaled = w.mul(scale(name).reshape(-1, 1));
            w.close();
            base.writeWeight(scaled);
            base.setParameterArray("bias", base.bias().mul(scale(name)));
        }

        @Override
        protected void unmergeAdapter(String name) {
            base.writeWeight(base.weight().getManager().create(beforeMerge.remove(name), base.weight().getShape()));
            base.setParameterArray("bias", base.bias().div(scale(name)));
        }
    }

    static final class ScaleModel extends TunerModel<ScaleConfig, ScaleLayer> {
        ScaleModel(PeftModel model) {
            super(model, ScaleConfig.class, ScaleLayer.class);
        }

        @Override
        protected List<String> inject(String name, ScaleConfig config) {
            List<String> targets = TargetMatcher.targets(config, null, null)
                    .and((n, m) -> m instanceof Linear || m instanceof ScaleLayer).modules(model);
            if (targets.isEmpty()) {
                throw new IllegalArgumentException("no target");
            }
            for (String t : targets) {
                Module m = model.module(t);
                ScaleLayer l = m instanceof ScaleLayer ? (ScaleLayer) m : new ScaleLayer((Linear) m);
                if (l != m) {
                    wrapLayer(t, l);
                }
                l.add(name, model.manager());
            }
            return ModulesToSave.resolve(model, config);
        }

        @Override
        protected ScaleConfig withInferenceMode(ScaleConfig config, boolean on) {
            return config;
        }

        @Override
        public void loadAdapter(ScaleConfig config, Map<String, Tensor> tensors, String name) {
            throw new UnsupportedOperationException("save-side test only");
        }
    }

    private static double[] expected(PeftModel m, float[] x, float[] l) {
        Linear q = (Linear) ((ScaleLayer) m.module(Q)).baseLayer();
        float[] w = q.weight().toFloatArray();
        float[] b = q.bias().toFloatArray();
        int out = (int) q.outFeatures();
        int in = (int) q.inFeatures();
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++) {
                s += (double) w[o * in + i] * x[i];
            }
            y[o] = s * (l == null ? 1 : l[o]);
        }
        return y;
    }

    private static float[] run(PeftModel m, float[] x) {
        try (NDManager step = m.manager().newSubManager()) {
            NDArray in = step.create(x, new Shape(1, x.length));
            return m.module(Q).forward(new ParameterStore(step, false), new NDList(in), false).singletonOrThrow().toFloatArray();
        }
    }

    private static void assertClose(double[] want, float[] got) {
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5, "y[" + i + "]");
        }
    }

    @Test
    void lifecycleOfAMethodWrittenOnTheTunerBase() throws Exception {
        try (PeftModel m = TinyBert.classifier(1, 0f)) {
            ScaleModel tuner = new ScaleModel(m);
            Linear original = (Linear) m.module(Q);
            tuner.addAdapter("a", new ScaleConfig.Builder().targetModules("query").modulesToSave("classifier").build());
            tuner.addAdapter("b", new ScaleConfig.Builder().targetModules("query").build());
            assertEquals("a", tuner.activeAdapter(), "the first adapter becomes active");
            ScaleLayer layer = (ScaleLayer) m.module(Q);
            int out = (int) original.outFeatures();
            float[] l = new float[out];
            for (int o = 0; o < out; o++) {
                l[o] = 0.5f + o / 16f;
            }
            layer.scale("a").set(l);
            float[] x = new float[(int) original.inFeatures()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.cos(i);
            }
            assertClose(expected(m, x, l), run(m, x));

            List<String> trainable = new ArrayList<>();
            m.trainableParameters().forEach(p -> trainable.add(p.name()));
            assertTrue(trainable.contains(Q + ".ia3_l.a") && !trainable.contains(Q + ".ia3_l.b"), trainable.toString());
            assertTrue(trainable.contains("classifier.weight"), "modules_to_save train");
            assertFalse(trainable.contains(Q + ".base_layer.weight"));

            try (TunerModel.AdaptersOff off = tuner.disableAdapters()) {
                assertClose(expected(m, x, null), run(m, x));
                assertTrue(m.trainableParameters().isEmpty());
            }
            assertClose(expected(m, x, l), run(m, x));

            Map<String, Tensor> state = tuner.adapterState("a");
            assertTrue(state.containsKey("base_model.model." + Q + ".ia3_l"), state.keySet().toString());
            assertTrue(state.containsKey("base_model.model.classifier.weight"));
            tuner.save(dir);
            assertTrue(java.nio.file.Files.readString(dir.resolve("adapter_config.json")).contains("\"SCALE\""));

            double[] scaledOut = expected(m, x, l);
            tuner.merge();
            assertEquals(List.of("a"), layer.mergedAdapters());
            assertClose(scaledOut, run(m, x));
            assertThrows(IllegalStateException.class, () -> tuner.deleteAdapter("a"), "merged adapters are unmerged first");
            tuner.unmerge();
            assertClose(expected(m, x, l), run(m, x));

            tuner.setAdapter("b");
            assertClose(expected(m, x, null), run(m, x));
            tuner.deleteAdapter("b");
            tuner.deleteAdapter("a");
            assertSame(original, m.module(Q), "a layer left without adapters is its base again");
            assertTrue(m.adapters().isEmpty());
            for (NamedParameter p : m.namedParameters()) {
                assertFalse(p.name().contains("ia3_l"), p.name());
            }
        }
    }
}

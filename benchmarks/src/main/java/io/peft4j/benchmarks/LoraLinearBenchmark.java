package io.peft4j.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.LoraModel;
import io.peft4j.lora.QLora;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * One 384 x 384 projection (MiniLM's query) on a batch of 32 x 64 tokens: the plain linear layer,
 * the same layer with an unmerged LoRA adapter, and with the adapter merged; forward alone and
 * forward + backward (full fine-tuning of the layer vs. training only the adapter); and QLoRA, the
 * adapter on the layer stored in NF4 with double quantization.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LoraLinearBenchmark {
    static final int TOKENS = 32 * 64;
    static final int HIDDEN = 384;

    @Param({"8"})
    public int r;

    private PeftModel plain;
    private PeftModel lora;
    private PeftModel merged;
    private PeftModel qlora;
    private NDArray x;

    /** A model that is one linear layer named {@code proj}. */
    static final class OneLinear extends Module {
        private final Linear proj;

        OneLinear() {
            proj = registerModule("proj", new Linear(HIDDEN, HIDDEN, true));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            return new NDList(call(child("proj"), ps, in.singletonOrThrow(), training));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    private static PeftModel model() {
        PeftModel m = new PeftModel(new OneLinear(), Compute.newManager(), "bench", "OneLinear");
        m.initializeMissing();
        return m;
    }

    @Setup(Level.Trial)
    public void setUp() {
        Compute.seed(1);
        plain = model();
        plain.setAllTrainable(true);
        LoraConfig cfg = LoraConfig.builder().r(r).loraAlpha(2 * r).targetModules("proj").build();
        lora = model();
        LoraModel.wrap(lora, cfg);
        merged = model();
        LoraModel.wrap(merged, cfg).merge();
        qlora = model();
        QLora.wrap(qlora, cfg);
        x = plain.manager().randomNormal(new Shape(TOKENS, HIDDEN));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        plain.close();
        lora.close();
        merged.close();
        qlora.close();
    }

    private float run(PeftModel m, boolean backward) {
        // Everything the pass creates lands in the input's manager; a per-call sub-manager frees it.
        try (NDManager step = x.getManager().newSubManager()) {
            x.tempAttach(step);
            if (!backward) {
                return m.forward(new NDList(x), false).head().getFloat(0, 0);
            }
            try (GradientCollector gc = Compute.engine().newGradientCollector()) {
                NDArray y = m.forward(new NDList(x), true).head();
                gc.backward(y.mean());
                return y.getFloat(0, 0);
            }
        }
    }

    @Benchmark
    public float forwardPlain() {
        return run(plain, false);
    }

    @Benchmark
    public float forwardLora() {
        return run(lora, false);
    }

    @Benchmark
    public float forwardMerged() {
        return run(merged, false);
    }

    @Benchmark
    public float trainStepFull() {
        return run(plain, true);
    }

    @Benchmark
    public float trainStepLora() {
        return run(lora, true);
    }

    /** LoRA on the NF4 (double-quantized) layer: the base weight is dequantized in every forward. */
    @Benchmark
    public float forwardQlora() {
        return run(qlora, false);
    }

    @Benchmark
    public float trainStepQlora() {
        return run(qlora, true);
    }
}

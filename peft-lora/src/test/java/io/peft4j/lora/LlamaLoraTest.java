package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.nn.Module;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** LoRA on the real stories260K Llama: HF PEFT's default targets, and causal-LM training that learns and leaks nothing. */
class LlamaLoraTest {
    /** The three reference stories, {@code [1] + ids}, labels = ids (the loss shifts them). */
    private static Batches stories() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            seqs[s] = Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids")));
        }
        int t = seqs[0].length;
        return new Batches() {
            @Override
            public int size() {
                return seqs.length;
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                long[] flat = new long[indices.length * t];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(seqs[indices[i]], 0, flat, i * t, t);
                }
                var ids = m.create(flat, new Shape(indices.length, t));
                return Batch.builder(indices.length).put(Batch.INPUT_IDS, ids).put(Batch.LABELS, ids).build();
            }
        };
    }

    private static float loss(PeftModel model, Batches data) {
        try (NDManager m = model.manager().newSubManager()) {
            return new CausalLanguageModeling().loss(model, data.batch(m, new int[] {0, 1, 2}), false).getFloat();
        }
    }

    @Test
    void defaultTargetsAreTheQueryAndValueProjectionsOfEveryLayer() throws Exception {
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).build());
            Set<String> wrapped = new TreeSet<>();
            for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
                if (e.getValue() instanceof LoraLayer) {
                    wrapped.add(e.getKey());
                }
            }
            Set<String> want = new TreeSet<>();
            for (int i = 0; i < 5; i++) {
                want.add("model.layers." + i + ".self_attn.q_proj");
                want.add("model.layers." + i + ".self_attn.v_proj");
            }
            assertEquals(want, wrapped);
            // r * (in + out) per layer: q_proj 4 * (64 + 64), v_proj 4 * (64 + 32), five layers.
            assertEquals(5L * (4 * (64 + 64) + 4 * (64 + 32)), model.trainableReport().trainable());
        }
    }

    @Test
    void aTrainingStepLowersTheLossAndLaterStepsKeepTheArrayCountFlat() throws Exception {
        Compute.seed(7);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).build());
            Batches data = stories();
            float before = loss(model, data);
            TrainingConfig one = TrainingConfig.builder().epochs(1).batchSize(3).learningRate(1e-2f).progressBar(false).build();
            new Trainer(model, new CausalLanguageModeling(), one).fit(data, null);
            float after = loss(model, data);
            assertTrue(after < before, "loss after one step " + after + " should be below " + before);

            int steps = 24;
            int[] counts = new int[2];
            TrainingConfig more = TrainingConfig.builder().epochs(steps).batchSize(3).learningRate(1e-3f).progressBar(false).build();
            new Trainer(model, new CausalLanguageModeling(), more).onStep(s -> {
                if (s == 5) {
                    counts[0] = Memory.managedArrays(model.manager());
                } else if (s == steps) {
                    counts[1] = Memory.managedArrays(model.manager());
                }
            }).fit(data, null);
            assertTrue(counts[0] > 0);
            assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 5 vs step " + steps);
        }
    }
}

package io.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * SpIEL on the real stories260K Llama (5 layers, hidden 64): every projection of attention and MLP
 * targeted by default (the tied-free lm_head is not), causal-LM training that lowers the loss on the
 * first 32 tokens of the three reference stories with the density exact, and a reload that gives the same loss bit for bit.
 */
class LlamaSpielTest {
    private static Batches stories() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            // The first 32 tokens of each story: enough to learn from, a quarter of the compute.
            seqs[s] = java.util.Arrays.copyOf(Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids"))), 33);
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
    void trainsOnStoriesWithExactDensityAndReloadsBitExact(@TempDir Path dir) throws Exception {
        Batches data = stories();
        float trained;
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            float base = loss(model, data);
            SpielConfig config = SpielConfig.builder().density(0.05f).reselectionSteps(2).selectionAccumulationSteps(1)
                    .initialReselectionRate(0.3f).build();
            Peft.wrap(model, config);
            SpielModel spiel = SpielModel.of(model);
            Set<String> projections = new TreeSet<>();
            spiel.layers().keySet().forEach(p -> projections.add(p.substring(p.lastIndexOf('.') + 1)));
            assertEquals(Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), projections);
            assertEquals(35, spiel.layers().size(), "7 projections in each of 5 layers");
            long budget = spiel.trainableValues();
            assertEquals(loss(model, data), base, 0f, "the zero delta leaves the base loss unchanged");
            int steps = 5;
            TrainingConfig cfg = TrainingConfig.builder().epochs(steps).batchSize(3).learningRate(1e-2f)
                    .progressBar(false).build();
            new Trainer(model, new CausalLanguageModeling(), cfg).addCallback(SpielSchedule.of(model, steps)).fit(data, null);
            trained = loss(model, data);
            assertTrue(trained < base - 0.05, "loss " + base + " -> " + trained);
            assertEquals(budget, spiel.trainableValues(), "density exact after 2 reselections (after steps 2 and 4)");
            spiel.save(dir);
        }
        try (PeftModel fresh = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.load(fresh, dir);
            assertEquals(trained, loss(fresh, data), 0f, "reloaded sparse delta gives the trained loss");
            SpielModel.of(fresh).merge();
            assertEquals(trained, loss(fresh, data), 1e-5f, "merged equals unmerged");
        }
    }
}

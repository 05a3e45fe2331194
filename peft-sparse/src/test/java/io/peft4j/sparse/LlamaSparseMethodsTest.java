package io.peft4j.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sparse.hft.HalfFineTuning;
import io.peft4j.sparse.hft.HalfSelection;
import io.peft4j.sparse.hft.HftConfig;
import io.peft4j.sparse.ltsft.LotteryTicket;
import io.peft4j.sparse.ltsft.LtSftConfig;
import io.peft4j.sparse.ltsft.LtSftTraining;
import io.peft4j.sparse.ltsft.SparseFineTuning;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** LT-SFT and HFT on the real stories260K Llama (tied head): tiny causal-LM runs that learn and keep their promises. */
class LlamaSparseMethodsTest {
    /** The first 32 tokens of the three reference stories, {@code [1] + ids}, labels = ids (the loss shifts them). */
    private static Batches stories() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            seqs[s] = Arrays.copyOf(Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids"))), 32);
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

    private static TrainingConfig config() {
        return TrainingConfig.builder().batchSize(3).learningRate(1e-2f).weightDecay(0.1f).seed(1).progressBar(false).build();
    }

    @Test
    void ltSftOnLlamaLearnsAndLeavesEveryUnchosenEntryAtThetaZero() throws Exception {
        Batches data = stories();
        LtSftConfig config = LtSftConfig.builder().numTunable(3000).build();
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Map<String, float[]> theta0 = Weights.snapshot(model);
            float before = loss(model, data);
            new Trainer(model, new CausalLanguageModeling(), config()).addCallback(new LtSftTraining(config))
                    .fit(LtSftTraining.stages(data, 3, 3), null);
            float after = loss(model, data);
            assertTrue(after < before, "loss " + before + " -> " + after);
            Map<String, long[]> chosen = LotteryTicket.of(model).selected();
            Map<String, float[]> theta2 = Weights.snapshot(model);
            for (String n : theta0.keySet()) {
                Set<Long> sel = Arrays.stream(chosen.getOrDefault(n, new long[0])).boxed().collect(Collectors.toSet());
                float[] a = theta0.get(n);
                float[] b = theta2.get(n);
                for (int i = 0; i < a.length; i++) {
                    if (!sel.contains((long) i) && Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                        throw new AssertionError("unchosen " + n + "[" + i + "] moved");
                    }
                }
            }
            SparseFineTuning ft = SparseFineTuning.of(model, config);
            assertEquals(3000, ft.deltaEntries());
            assertTrue(ft.dense().isEmpty(), "the tied head is the embedding table, which is maskable: " + ft.dense().keySet());
        }
    }

    @Test
    void hftOnLlamaTrainsEachStagesHalfAndFreezesTheRest() throws Exception {
        Batches data = stories();
        HftConfig config = HftConfig.builder().seed(3).build();
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            float before = loss(model, data);
            Map<String, float[]> start = Weights.snapshot(model);
            List<Stage> stages = List.of(Stage.builder("a", data).epochs(3).build(), Stage.builder("b", data).epochs(3).build());
            new Trainer(model, new CausalLanguageModeling(), config()).addCallback(new HalfFineTuning(config)).fit(stages, null);
            assertTrue(loss(model, data) < before);
            Set<String> everTrained = new HashSet<>();
            for (int stage = 0; stage < 2; stage++) {
                HalfSelection.draw(model, model.family(), config, stage).parameters(model, model.family(), config)
                        .forEach(p -> everTrained.add(p.name()));
            }
            Map<String, float[]> end = Weights.snapshot(model);
            for (String n : start.keySet()) {
                assertEquals(everTrained.contains(n), !Arrays.equals(start.get(n), end.get(n)), n);
            }
        }
    }
}

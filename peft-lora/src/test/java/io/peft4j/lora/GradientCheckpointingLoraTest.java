package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.task.Task;
import io.peft4j.core.testing.Memory;
import io.peft4j.core.testing.StepGradients;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Supplier;

/**
 * Gradient checkpointing with LoRA adapters in the layers of a frozen base, on each family: the
 * checkpointed step's loss and the gradient of every adapter weight equal the plain step's. LoRA
 * dropout is on (and BERT's own dropout), so equal gradients need the recomputation to draw the
 * first forward's masks; {@code lora_B} is made non-zero so that {@code lora_A} has a gradient too.
 * Gradient accumulation runs two or three micro-batches per step.
 */
class GradientCheckpointingLoraTest {
    private static final Gpt2Config GPT2 = Gpt2Config.builder().vocabSize(20).nPositions(8).nEmbd(8).nLayer(2).nHead(2).build();
    private static final LoraConfig LORA = LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1f).build();

    /** Wraps with LoRA and draws {@code lora_B} from a seeded normal (HF PEFT starts it at zero). */
    private static PeftModel withAdapters(PeftModel model) {
        Compute.seed(21);
        Peft.wrap(model, LORA);
        for (NamedParameter p : model.trainableParameters()) {
            if (p.name().contains("lora_B")) {
                p.module().setParameterArray(p.localName(),
                        model.manager().randomNormal(0f, 0.1f, p.parameter().getShape(), DataType.FLOAT32));
            }
        }
        return model;
    }

    private static void assertCheckpointingKeepsTheStep(Supplier<PeftModel> build, Task task, Batches data, int batch,
            int accumulation) {
        TrainingConfig.Builder cfg = TrainingConfig.builder().epochs(1).batchSize(batch)
                .gradientAccumulationSteps(accumulation).learningRate(1e-3f).seed(5).progressBar(false);
        StepGradients plain;
        try (PeftModel m = build.get()) {
            plain = StepGradients.firstStep(m, task, data, cfg.build());
        }
        StepGradients checkpointed;
        try (PeftModel m = build.get()) {
            checkpointed = StepGradients.firstStep(m, task, data, cfg.gradientCheckpointing(true).build());
        }
        assertTrue(plain.gradients.keySet().stream().allMatch(k -> k.contains("lora_")), plain.gradients.keySet().toString());
        plain.assertSameAs(checkpointed);
    }

    @Test
    void stories260kLlama() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            seqs[s] = Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids")));
        }
        assertCheckpointingKeepsTheStep(() -> {
            try {
                return withAdapters(ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, new CausalLanguageModeling(), sequences(seqs), 1, 3);
    }

    @Test
    void randomGpt2() {
        assertCheckpointingKeepsTheStep(() -> {
            Compute.seed(6);
            return withAdapters(Gpt2.randomCausalLm(GPT2, "random-gpt2"));
        }, new CausalLanguageModeling(), sequences(randomIds(GPT2.vocabSize())), 2, 2);
    }

    /** Four sequences of six random ids. */
    private static long[][] randomIds(int vocab) {
        Random rnd = new Random(17);
        long[][] seqs = new long[4][6];
        for (long[] s : seqs) {
            for (int i = 0; i < s.length; i++) {
                s[i] = rnd.nextInt(vocab);
            }
        }
        return seqs;
    }

    /** Checkpointed causal-LM steps through LoRA leave no array behind in the model's manager. */
    @Test
    void checkpointedDecoderStepsKeepTheArrayCountFlat() {
        Compute.seed(6);
        try (PeftModel model = withAdapters(Gpt2.randomCausalLm(GPT2, "random-gpt2"))) {
            int steps = 12;
            int[] counts = new int[2];
            TrainingConfig config = TrainingConfig.builder().epochs(steps).batchSize(2).gradientAccumulationSteps(2)
                    .learningRate(1e-2f).progressBar(false).gradientCheckpointing(true).build();
            new Trainer(model, new CausalLanguageModeling(), config).onStep(s -> {
                if (s == 3) {
                    counts[0] = Memory.managedArrays(model.manager());
                } else if (s == steps) {
                    counts[1] = Memory.managedArrays(model.manager());
                }
            }).fit(sequences(randomIds(GPT2.vocabSize())), null);
            assertTrue(counts[0] > 0);
            assertEquals(counts[0], counts[1], "arrays alive in the model's manager after step 3 vs step " + steps);
        }
    }

    @Test
    void tinyBertEncoder() {
        assertCheckpointingKeepsTheStep(() -> withAdapters(TinyBert.classifier(3, 0.1f)), new SequenceClassification(),
                TinyBert.task(8, 2), 4, 2);
    }

    /** Equal-length sequences as a causal-LM dataset, labels = ids (the loss shifts them). */
    private static Batches sequences(long[][] seqs) {
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
}

package io.peft4j.adapters.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.bert.BertModel;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.testing.TinyBert;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** Prompt tuning and P-tuning on a BERT-family classifier (TinyBert: hidden 32, 2 labels, mean pooling). */
class PromptEncoderModelTest {
    private static final int N = 4;
    private static final int H = 32;

    private static PromptTuningConfig seqCls() {
        return PromptTuningConfig.builder().numVirtualTokens(N).taskType("SEQ_CLS").build();
    }

    @Test
    void seqClsTrainsTheVirtualTokensAndTheClassifierOnly() {
        try (PeftModel model = TinyBert.classifier(1, 0f)) {
            Peft.wrap(model, seqCls());
            long count = 0;
            for (NamedParameter p : model.trainableParameters()) {
                assertTrue(p.name().startsWith("bert.prompt_encoder.default.") || p.name().startsWith("classifier."), p.name());
                count += p.size();
            }
            assertEquals((long) N * H + (H * 2 + 2), count);
        }
    }

    @Test
    void outputsStayThoseOfTheRealTokensAndChange() {
        try (PeftModel model = TinyBert.classifier(2, 0f); NDManager step = model.manager().newSubManager()) {
            Batch batch = TinyBert.task(3, 5).batch(step, new int[] {0, 1, 2});
            ForwardContext ctx = ForwardContext.of(batch);
            float[] base = model.forward(ctx, false).lastHiddenState().toFloatArray();
            Peft.wrap(model, PTuningConfig.builder().numVirtualTokens(N).encoderHiddenSize(16).build());
            var out = model.forward(ctx, false);
            assertArrayEquals(new long[] {3, TinyBert.SEQ, H}, out.lastHiddenState().getShape().getShape());
            assertArrayEquals(new long[] {3, 2}, out.logits().getShape().getShape());
            assertTrue(!java.util.Arrays.equals(base, out.lastHiddenState().toFloatArray()));
        }
    }

    @Test
    void prefixTuningOnAnEncoderIsRefusedAndTheModelUnchanged() {
        try (PeftModel model = TinyBert.classifier(3, 0f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Peft.wrap(model, PrefixTuningConfig.builder().numVirtualTokens(N).build()));
            assertTrue(e.getMessage().contains("key/value cache"), e.getMessage());
            assertTrue(model.module("bert") instanceof BertModel && !(model.module("bert") instanceof PromptHost));
            assertEquals(0, model.adapters().size());
        }
    }

    @Test
    void savedWithTheClassifierUnderHfKeysAndReloadedBitExact(@TempDir Path dir) throws Exception {
        float[] before;
        try (PeftModel model = TinyBert.classifier(4, 0f); NDManager step = model.manager().newSubManager()) {
            Peft.wrap(model, seqCls());
            new Trainer(model, TrainingConfig.builder().epochs(1).batchSize(8).learningRate(1e-2f).build())
                    .fit(TinyBert.task(16, 1), null);
            Peft.wrap(model, seqCls(), "other");   // a second adapter does not disturb the first one's save
            PromptLearning.of(model).setAdapter("default");
            new PromptTuningStrategy().save(model, seqCls(), "default", dir);
            before = model.forward(ForwardContext.of(TinyBert.task(4, 9).batch(step, new int[] {0, 1, 2, 3})), false)
                    .logits().toFloatArray();
        }
        Map<String, Tensor> saved = AdapterFiles.readTensors(dir);
        assertEquals(Set.of("prompt_embeddings", "base_model.classifier.weight", "base_model.classifier.bias"), saved.keySet());
        try (PeftModel fresh = TinyBert.classifier(4, 0f); NDManager step = fresh.manager().newSubManager()) {
            Peft.load(fresh, dir);
            float[] after = fresh.forward(ForwardContext.of(TinyBert.task(4, 9).batch(step, new int[] {0, 1, 2, 3})), false)
                    .logits().toFloatArray();
            assertArrayEquals(before, after);
        }
    }

    @Test
    void aShortRunLowersTheLoss() {
        try (PeftModel model = TinyBert.classifier(5, 0f)) {
            Peft.wrap(model, PromptTuningConfig.builder().numVirtualTokens(N).taskType("SEQ_CLS").build());
            Batches train = TinyBert.task(64, 2);
            Trainer trainer = new Trainer(model, TrainingConfig.builder().epochs(4).batchSize(16).learningRate(3e-2f).build());
            double before = trainer.evaluate(train).get(Metrics.LOSS);
            trainer.fit(train, null);
            double after = trainer.evaluate(train).get(Metrics.LOSS);
            assertTrue(after < before, "loss " + before + " -> " + after);
        }
    }
}

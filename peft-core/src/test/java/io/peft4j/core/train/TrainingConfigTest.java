package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;

import org.junit.jupiter.api.Test;

class TrainingConfigTest {
    /**
     * The defaults of transformers' {@code TrainingArguments} as published in its documentation:
     * num_train_epochs 3.0, per_device_train_batch_size 8, gradient_accumulation_steps 1,
     * learning_rate 5e-5, weight_decay 0.0, adam_beta1 0.9, adam_beta2 0.999, adam_epsilon 1e-8,
     * warmup_ratio 0.0, max_grad_norm 1.0, seed 42.
     */
    @Test
    void defaultsAreTransformersTrainingArguments() {
        TrainingConfig c = TrainingConfig.builder().build();
        assertEquals(3, c.epochs());
        assertEquals(8, c.batchSize());
        assertEquals(1, c.gradientAccumulationSteps());
        assertEquals(5e-5f, c.learningRate());
        assertEquals(0f, c.weightDecay());
        assertEquals(0.9f, c.beta1());
        assertEquals(0.999f, c.beta2());
        assertEquals(1e-8f, c.adamEpsilon());
        assertEquals(0f, c.warmupRatio());
        assertEquals(1.0f, c.maxGradNorm());
        assertEquals(42L, c.seed());
        assertEquals(DataType.FLOAT32, c.frozenWeightsDType());
        assertNull(c.outputDir());
        assertNull(c.checkpointDir());
    }

    @Test
    void frozenWeightsMayBeFloat16ButNothingElse() {
        assertEquals(DataType.FLOAT16, TrainingConfig.builder().frozenWeightsDType(DataType.FLOAT16).build()
                .frozenWeightsDType());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingConfig.builder().frozenWeightsDType(DataType.INT8).build());
        assertTrue(e.getMessage().contains("frozenWeightsDType") && e.getMessage().toUpperCase(java.util.Locale.ROOT).contains("INT8"), e.getMessage());
    }

    @Test
    void invalidOptionsAreRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingConfig.builder().betas(0.9f, 1f).build());
        assertTrue(e.getMessage().contains("beta2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Stage.builder("a,b", new LinearRegression(2, 1).batches()).build());
        assertTrue(e.getMessage().contains("a,b"), e.getMessage());
    }
}

package io.peft4j.core.train;

import ai.djl.ndarray.types.DataType;

import java.nio.file.Path;

/**
 * Hyper-parameters of a training run. Immutable. The defaults are those of transformers'
 * {@code TrainingArguments} (v4.x): {@code num_train_epochs} 3, {@code per_device_train_batch_size} 8,
 * {@code gradient_accumulation_steps} 1, {@code learning_rate} 5e-5, {@code weight_decay} 0,
 * {@code adam_beta1} 0.9, {@code adam_beta2} 0.999, {@code adam_epsilon} 1e-8, {@code warmup_ratio} 0,
 * {@code max_grad_norm} 1.0, {@code seed} 42, linear schedule.
 *
 * <p>The seed covers what the trainer does (data order, dropout, libtorch's generator before each
 * step); it does not cover building the model, which happens before the trainer exists. Seed that
 * with the same value, e.g. {@code Compute.seeded(config.seed(), () -> Bert.sequenceClassifier(...))}.
 */
public final class TrainingConfig {
    private final int epochs;
    private final int batchSize;
    private final int gradientAccumulationSteps;
    private final float learningRate;
    private final float weightDecay;
    private final float beta1;
    private final float beta2;
    private final float adamEpsilon;
    private final float warmupRatio;
    private final float maxGradNorm;
    private final long seed;
    private final Path checkpointDir;
    private final int checkpointEverySteps;
    private final boolean progressBar;
    private final Path outputDir;
    private final DataType frozenWeightsDType;
    private final boolean gradientCheckpointing;

    private TrainingConfig(Builder b) {
        this.epochs = b.epochs;
        this.batchSize = b.batchSize;
        this.gradientAccumulationSteps = b.gradientAccumulationSteps;
        this.learningRate = b.learningRate;
        this.weightDecay = b.weightDecay;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.adamEpsilon = b.adamEpsilon;
        this.warmupRatio = b.warmupRatio;
        this.maxGradNorm = b.maxGradNorm;
        this.seed = b.seed;
        this.checkpointDir = b.checkpointDir;
        this.checkpointEverySteps = b.checkpointEverySteps;
        this.progressBar = b.progressBar;
        this.outputDir = b.outputDir;
        this.frozenWeightsDType = b.frozenWeightsDType;
        this.gradientCheckpointing = b.gradientCheckpointing;
        check(epochs > 0, "epochs", epochs);
        check(batchSize > 0, "batchSize", batchSize);
        check(gradientAccumulationSteps > 0, "gradientAccumulationSteps", gradientAccumulationSteps);
        check(learningRate > 0, "learningRate", learningRate);
        check(weightDecay >= 0, "weightDecay", weightDecay);
        check(warmupRatio >= 0 && warmupRatio <= 1, "warmupRatio", warmupRatio);
        check(maxGradNorm >= 0, "maxGradNorm (0 disables clipping)", maxGradNorm);
        check(checkpointEverySteps >= 0, "checkpointEverySteps", checkpointEverySteps);
        check(beta1 >= 0 && beta1 < 1, "beta1", beta1);
        check(beta2 >= 0 && beta2 < 1, "beta2", beta2);
        check(adamEpsilon > 0, "adamEpsilon", adamEpsilon);
        check(frozenWeightsDType == DataType.FLOAT32 || frozenWeightsDType == DataType.FLOAT16,
                "frozenWeightsDType (FLOAT32 or FLOAT16)", frozenWeightsDType);
    }

    private static void check(boolean ok, String name, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("Invalid training option " + name + ": " + value);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public int epochs() { return epochs; }
    public int batchSize() { return batchSize; }
    public int gradientAccumulationSteps() { return gradientAccumulationSteps; }
    public float learningRate() { return learningRate; }
    public float weightDecay() { return weightDecay; }
    public float beta1() { return beta1; }
    public float beta2() { return beta2; }
    public float adamEpsilon() { return adamEpsilon; }
    public float warmupRatio() { return warmupRatio; }
    public float maxGradNorm() { return maxGradNorm; }
    public long seed() { return seed; }
    /** Where checkpoints go, or null for none. */
    public Path checkpointDir() { return checkpointDir; }
    public int checkpointEverySteps() { return checkpointEverySteps; }
    public boolean progressBar() { return progressBar; }
    /** Where the training history ({@code history.csv}, {@code epochs.csv}, {@code loss.png}) goes, or null for none. */
    public Path outputDir() { return outputDir; }
    /** The dtype frozen weights are stored in during training; trainable parameters and optimizer state stay float32. */
    public DataType frozenWeightsDType() { return frozenWeightsDType; }
    /** Whether each layer is recomputed in backward instead of keeping its activations (transformers' {@code gradient_checkpointing}). */
    public boolean gradientCheckpointing() { return gradientCheckpointing; }

    public static final class Builder {
        // Each default is transformers' TrainingArguments' (names in the class comment).
        private int epochs = 3;
        private int batchSize = 8;
        private int gradientAccumulationSteps = 1;
        private float learningRate = 5e-5f;
        private float weightDecay = 0f;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float adamEpsilon = 1e-8f;
        private float warmupRatio = 0f;
        private float maxGradNorm = 1.0f;
        private long seed = 42;
        private Path checkpointDir;
        private int checkpointEverySteps;
        private boolean progressBar = true;
        private Path outputDir;
        private DataType frozenWeightsDType = DataType.FLOAT32;
        private boolean gradientCheckpointing;

        /** Epochs of a one-stage run ({@code Trainer.fit(train, eval)}); a run of stages takes each stage's. */
        public Builder epochs(int v) { epochs = v; return this; }
        /** Examples per forward/backward pass (micro-batch); an optimizer step takes {@code gradientAccumulationSteps} of them. */
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
        public Builder learningRate(float v) { learningRate = v; return this; }
        /** Decoupled weight decay of AdamW; biases and normalization weights never decay. */
        public Builder weightDecay(float v) { weightDecay = v; return this; }
        public Builder betas(float b1, float b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder adamEpsilon(float v) { adamEpsilon = v; return this; }
        /** Fraction of optimizer steps spent warming the learning rate up linearly from 0. */
        public Builder warmupRatio(float v) { warmupRatio = v; return this; }
        /** Global-norm gradient clipping threshold; 0 disables it. */
        public Builder maxGradNorm(float v) { maxGradNorm = v; return this; }
        /** Seeds the data order, dropout and libtorch's generator during training; not the model's initialization. */
        public Builder seed(long v) { seed = v; return this; }
        /** Save a checkpoint to {@code dir} every {@code everySteps} optimizer steps and at the end. */
        public Builder checkpoints(Path dir, int everySteps) { checkpointDir = dir; checkpointEverySteps = everySteps; return this; }
        public Builder progressBar(boolean v) { progressBar = v; return this; }
        /** Write the training history (CSV files and a loss-curve PNG) into {@code dir} after every epoch and checkpoint. */
        public Builder outputDir(Path dir) { outputDir = dir; return this; }
        /**
         * Store frozen weights in {@code FLOAT16} to halve their memory, or keep them {@code FLOAT32} (default).
         * Trainable parameters and the optimizer state stay float32 either way.
         */
        public Builder frozenWeightsDType(DataType v) { frozenWeightsDType = v; return this; }

        /**
         * Recompute each transformer layer in backward, keeping only the layers' inputs between forward and
         * backward (transformers' {@code gradient_checkpointing}, default false): less memory for about one
         * more forward of the layers per step. Gradients are those of the plain step.
         */
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }

        public TrainingConfig build() {
            return new TrainingConfig(this);
        }
    }
}

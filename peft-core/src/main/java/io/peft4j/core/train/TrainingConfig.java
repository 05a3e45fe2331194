package io.peft4j.core.train;

import java.nio.file.Path;

/** Hyper-parameters of a training run. Immutable; defaults follow transformers' Trainer where it has one. */
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
        check(epochs > 0, "epochs", epochs);
        check(batchSize > 0, "batchSize", batchSize);
        check(gradientAccumulationSteps > 0, "gradientAccumulationSteps", gradientAccumulationSteps);
        check(learningRate > 0, "learningRate", learningRate);
        check(weightDecay >= 0, "weightDecay", weightDecay);
        check(warmupRatio >= 0 && warmupRatio <= 1, "warmupRatio", warmupRatio);
        check(maxGradNorm >= 0, "maxGradNorm (0 disables clipping)", maxGradNorm);
        check(checkpointEverySteps >= 0, "checkpointEverySteps", checkpointEverySteps);
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

    public static final class Builder {
        private int epochs = 3;
        private int batchSize = 16;
        private int gradientAccumulationSteps = 1;
        private float learningRate = 5e-5f;
        private float weightDecay = 0.01f;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float adamEpsilon = 1e-8f;
        private float warmupRatio = 0.1f;
        private float maxGradNorm = 1.0f;
        private long seed = 42;
        private Path checkpointDir;
        private int checkpointEverySteps;
        private boolean progressBar = true;

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
        public Builder learningRate(float v) { learningRate = v; return this; }
        public Builder weightDecay(float v) { weightDecay = v; return this; }
        public Builder betas(float b1, float b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder adamEpsilon(float v) { adamEpsilon = v; return this; }
        /** Fraction of optimizer steps spent warming the learning rate up linearly from 0. */
        public Builder warmupRatio(float v) { warmupRatio = v; return this; }
        /** Global-norm gradient clipping threshold; 0 disables it. */
        public Builder maxGradNorm(float v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        /** Save a checkpoint to {@code dir} every {@code everySteps} optimizer steps and at the end. */
        public Builder checkpoints(Path dir, int everySteps) { checkpointDir = dir; checkpointEverySteps = everySteps; return this; }
        public Builder progressBar(boolean v) { progressBar = v; return this; }

        public TrainingConfig build() {
            return new TrainingConfig(this);
        }
    }
}

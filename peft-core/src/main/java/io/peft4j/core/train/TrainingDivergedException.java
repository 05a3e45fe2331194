package io.peft4j.core.train;

/** The loss became NaN or infinite; training stopped at the named step. */
public class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long step;

    public TrainingDivergedException(long step, float loss) {
        super("Loss is " + loss + " at optimizer step " + step + "; training stopped (lower the learning rate or check the data)");
        this.step = step;
    }

    public long step() {
        return step;
    }
}

package io.peft4j.core;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;

/**
 * The one place where peft4j chooses its engine and device, so that GPU and mixed precision can come
 * without touching model or strategy code. The device is {@code -Dpeft4j.device} ({@code cpu},
 * {@code gpu}, {@code gpu1}, ...) or else the engine's default.
 */
public final class Compute {
    public static final String ENGINE = "PyTorch";
    public static final String DEVICE_PROPERTY = "peft4j.device";

    private Compute() {}

    /**
     * The PyTorch engine, loaded with {@code ai.djl.offline=true} unless the caller chose otherwise:
     * libtorch must come from the {@code pytorch-native-*} jar on the classpath, never a download.
     */
    public static Engine engine() {
        ensureOffline();
        try {
            return Engine.getEngine(ENGINE);
        } catch (EngineException | IllegalArgumentException e) {
            throw new IllegalStateException("The DJL PyTorch engine could not load libtorch. Put "
                    + "ai.djl.pytorch:pytorch-native-cpu:2.7.1 (classifier for your OS/arch, e.g. linux-x86_64) "
                    + "and ai.djl.pytorch:pytorch-jni:2.7.1-0.35.0 on the classpath; with ai.djl.offline=true "
                    + "nothing is downloaded. Cause: " + e.getMessage(), e);
        }
    }

    /** Sets {@code ai.djl.offline=true} unless the caller set it: DJL then never downloads or phones home. */
    public static void ensureOffline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    public static Device device() {
        Engine engine = engine();
        String wanted = System.getProperty(DEVICE_PROPERTY);
        return wanted == null || wanted.isBlank() ? engine.defaultDevice() : Device.fromName(wanted, engine);
    }

    /** A new root manager on the chosen device; the caller owns and closes it. */
    public static NDManager newManager() {
        return engine().newBaseManager(device());
    }

    /** Seeds libtorch's generators (dropout, random initializers) for reproducible runs. */
    public static void seed(long seed) {
        engine().setRandomSeed((int) seed);
    }

    /**
     * Seeds libtorch's generators, then builds: a model's random initialization (e.g. a fresh classifier
     * head) is then the same every run. Pass the training seed to make one seed cover a whole run.
     */
    public static <T> T seeded(long seed, java.util.function.Supplier<T> build) {
        seed(seed);
        return build.get();
    }
}

package io.peft4j.adapters.bottleneck;

import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.training.initializer.UniformInitializer;

/**
 * How a new adapter's down-projection is drawn, under AdapterHub's {@code init_weights} names. The
 * up-projection and every bias start at zero whatever the choice, so that the adapted model starts equal
 * to the base (the requirement). AdapterHub also zeroes the up-projection for
 * {@code mam_adapter}, but draws it small and random for {@code bert} and {@code houlsby}; an imported
 * adapter brings its own weights, so this only matters for new ones.
 */
public enum BottleneckInit {
    /** Normal, standard deviation 0.02 (BERT's {@code initializer_range}). */
    BERT("bert"),
    /** Kaiming-uniform with a = sqrt(5): uniform within ±1/sqrt(fan_in), PyTorch's {@code nn.Linear} default. */
    MAM_ADAPTER("mam_adapter"),
    /** Truncated normal, standard deviation 0.01, cut at two deviations. */
    HOULSBY("houlsby");

    private final String jsonName;

    BottleneckInit(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }

    public static BottleneckInit fromJson(String name) {
        for (BottleneckInit i : values()) {
            if (i.jsonName.equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("init_weights '" + name + "' is not supported; expected bert, mam_adapter or houlsby");
    }

    Initializer downProjection(long fanIn) {
        switch (this) {
            case MAM_ADAPTER:
                return new UniformInitializer((float) (1 / Math.sqrt(fanIn)));
            case HOULSBY:
                return new TruncatedNormalInitializer(0.01f);
            default:
                return new NormalInitializer(0.02f);
        }
    }
}

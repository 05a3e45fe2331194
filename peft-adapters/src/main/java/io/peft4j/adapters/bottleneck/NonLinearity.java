package io.peft4j.adapters.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

import io.peft4j.core.nn.Module;

import java.util.Locale;

/**
 * The bottleneck's non-linearity under the names AdapterHub accepts ({@code non_linearity}, looked up
 * lower-case in transformers' {@code ACT2FN}, plus {@code leakyrelu}). Constants are step-owned scalars
 * ({@link Module#scalar}) because these run inside differentiable forwards.
 */
public enum NonLinearity {
    RELU("relu"),
    /** {@code x * sigmoid(x)}; AdapterHub's Houlsby default. */
    SWISH("swish"),
    /** The same function as {@link #SWISH} under transformers' other name. */
    SILU("silu"),
    /** The exact erf form, transformers' {@code gelu}. */
    GELU("gelu"),
    /** The tanh approximation, transformers' {@code gelu_new}. */
    GELU_NEW("gelu_new"),
    TANH("tanh"),
    SIGMOID("sigmoid"),
    /** PyTorch's {@code leaky_relu} with its default slope 0.01. */
    LEAKYRELU("leakyrelu");

    private final String jsonName;

    NonLinearity(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }

    public static NonLinearity fromJson(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (NonLinearity f : values()) {
            if (f.jsonName.equals(n)) {
                return f;
            }
        }
        throw new IllegalArgumentException("non_linearity '" + name + "' is not supported; expected one of relu, swish,"
                + " silu, gelu, gelu_new, tanh, sigmoid, leakyrelu");
    }

    public NDArray apply(NDArray x) {
        switch (this) {
            case RELU:
                return Activation.relu(x);
            case SWISH:
            case SILU:
                return x.mul(Activation.sigmoid(x));
            case GELU:
                return Activation.gelu(x);
            case GELU_NEW: {
                NDArray inner = x.add(x.pow(Module.scalar(x, 3f)).mul(Module.scalar(x, 0.044715f)))
                        .mul(Module.scalar(x, (float) Math.sqrt(2 / Math.PI)));
                return x.mul(Module.scalar(x, 0.5f)).mul(Activation.tanh(inner).add(Module.scalar(x, 1f)));
            }
            case TANH:
                return Activation.tanh(x);
            case SIGMOID:
                return Activation.sigmoid(x);
            case LEAKYRELU:
                return Activation.relu(x).sub(Activation.relu(x.neg()).mul(Module.scalar(x, 0.01f)));
            default:
                throw new IllegalStateException(name());
        }
    }
}

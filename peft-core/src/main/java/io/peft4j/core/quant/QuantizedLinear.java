package io.peft4j.core.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.LinearModule;
import io.peft4j.core.ops.NativeOps;

/**
 * A frozen linear layer whose weight is stored quantized ({@code y = x dequant(W)^T + b}). The weight
 * is dequantized on its device in every forward, into the step's memory, and the matmul runs in the
 * compute dtype; autograd carries gradients to the input (and the bias when it trains) through that
 * dequantized copy, never to the codes. The bias stays a float32 parameter named {@code bias}.
 */
public final class QuantizedLinear extends LinearModule {
    private final QuantizationConfig config;
    /**
     * Whether the layer replaced a {@link Conv1D} (GPT-2): the codes hold the {@code [out, in]}
     * transpose, as transformers' bitsandbytes integration stores a quantized Conv1D, and
     * dequantizing back gives a Conv1D again so that a merged model keeps its checkpoint layout.
     */
    private boolean fromConv1D;
    private QuantizedTensor weight;
    /** Byte-to-values table of the code, kept beside the codes so forward needs no host round trip. */
    private NDArray pairs;

    private QuantizedLinear(long inFeatures, long outFeatures, boolean hasBias, QuantizationConfig config) {
        super(inFeatures, outFeatures, hasBias);
        this.config = config;
        if (hasBias) {
            registerParameter("bias", Parameter.Type.BIAS, new Shape(outFeatures), Initializer.ZEROS);
        }
    }

    /** Quantizes a linear layer's weight; the bias is copied. The given layer is left as it was. */
    public static QuantizedLinear quantize(Linear linear, QuantizationConfig config, NDManager manager, String name) {
        QuantizedTensor q = Quantization.quantize(linear.weight(), config, manager, name + ".weight");
        return around(q, linear, config, false);
    }

    /**
     * Quantizes a {@link Conv1D}'s weight as an {@code [out, in]} matrix (its transpose, made for this
     * call and freed); the bias is copied. The given layer is left as it was.
     */
    public static QuantizedLinear quantize(Conv1D conv, QuantizationConfig config, NDManager manager, String name) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray w = conv.readWeight(scratch);
            return around(Quantization.quantize(w, config, manager, name + ".weight"), conv, config, true);
        }
    }

    /** Quantizes a {@link Linear} or a {@link Conv1D}; anything else is an error naming the layer. */
    public static QuantizedLinear quantize(LinearModule layer, QuantizationConfig config, NDManager manager, String name) {
        if (layer instanceof Linear) {
            return quantize((Linear) layer, config, manager, name);
        }
        if (layer instanceof Conv1D) {
            return quantize((Conv1D) layer, config, manager, name);
        }
        throw new IllegalArgumentException(name + " is a " + layer.getClass().getSimpleName()
                + "; only Linear and Conv1D layers can be quantized");
    }

    private static QuantizedLinear around(QuantizedTensor q, LinearModule source, QuantizationConfig config,
            boolean fromConv1D) {
        QuantizedLinear out = new QuantizedLinear(source.inFeatures(), source.outFeatures(), source.hasBias(), config);
        out.setWeight(q);
        out.fromConv1D = fromConv1D;
        if (source.hasBias()) {
            out.setParameterArray("bias", source.bias().duplicate());
        }
        return out;
    }

    /** A layer around an already quantized weight (e.g. read from a bitsandbytes checkpoint); takes ownership. */
    public static QuantizedLinear of(QuantizedTensor weight, boolean hasBias, QuantizationConfig config) {
        long[] shape = weight.state().shape();
        QuantizedLinear out = new QuantizedLinear(shape[1], shape[0], hasBias, config);
        out.setWeight(weight);
        return out;
    }

    private void setWeight(QuantizedTensor q) {
        long[] shape = q.state().shape();
        if (shape.length != 2 || shape[0] != outFeatures() || shape[1] != inFeatures()) {
            throw new IllegalArgumentException("Quantized weight of shape " + java.util.Arrays.toString(shape)
                    + " does not fit a linear layer [" + outFeatures() + ", " + inFeatures() + "]");
        }
        NDManager home = q.data().getManager();
        NDArray newPairs = Quantization.pairTableFor(q, home);
        if (weight != null) {
            weight.close();
        }
        if (pairs != null) {
            pairs.close();
        }
        weight = q;
        pairs = newPairs;
    }

    /**
     * Replaces the weight with the quantization of {@code dense} ({@code [out, in]} float32), e.g. after
     * merging an adapter into it; the old codes are freed. {@code dense} is left to the caller.
     */
    public void requantize(NDArray dense, String name) {
        NDManager home = weight.data().getManager();
        setWeight(Quantization.quantize(dense, config, home, name));
    }

    public QuantizationConfig config() {
        return config;
    }

    /** The stored weight: codes and quant state (owned by this layer). */
    public QuantizedTensor quantizedWeight() {
        return weight;
    }

    /** The weight dequantized to float32, as a new array owned by {@code manager}. */
    public NDArray dequantizedWeight(NDManager manager) {
        return Quantization.dequantize(weight, DataType.FLOAT32, manager);
    }

    /** A plain float32 linear layer with the dequantized weight and a copy of the bias. */
    public Linear toLinear(NDManager manager) {
        Linear linear = new Linear(inFeatures(), outFeatures(), hasBias());
        linear.setParameterArray("weight", dequantizedWeight(manager));
        if (hasBias()) {
            linear.setParameterArray("bias", bias().duplicate());
        }
        return linear;
    }

    /**
     * The float32 layer this one stands for: a {@link Conv1D} (weight stored {@code [in, out]}) when it
     * replaced one, else a {@link Linear}; the dequantized weight and a copy of the bias.
     */
    public LinearModule toFloatLayer(NDManager manager) {
        if (!fromConv1D) {
            return toLinear(manager);
        }
        Conv1D conv = new Conv1D(inFeatures(), outFeatures());
        NDArray w = dequantizedWeight(manager);
        NDArray stored = w.transpose().toType(DataType.FLOAT32, true);
        w.close();
        conv.setParameterArray("weight", stored);
        conv.setParameterArray("bias", bias().duplicate());
        return conv;
    }

    /** Whether this layer replaced a {@link Conv1D}. */
    public boolean replacedConv1D() {
        return fromConv1D;
    }

    @Override
    public NDArray readWeight(NDManager manager) {
        return dequantizedWeight(manager);
    }

    /** Quantizes {@code w} as this layer's config says (adding rounding error) and frees it. */
    @Override
    public void writeWeight(NDArray w) {
        try {
            requantize(w, "written weight");
        } finally {
            w.close();
        }
    }

    @Override
    public long heldWeightElements() {
        return weight.numel();
    }

    @Override
    public long heldWeightBytes() {
        return weight.storedBytes();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDManager step = x.getManager();
        // DJL's casts are not differentiable: with deltas the layer computes in float32 so that their
        // parameters receive gradients.
        DataType compute = deltas().isEmpty() ? config.computeDType() : DataType.FLOAT32;
        NDArray w;
        NDArray b = null;
        try (NDManager work = step.newSubManager()) {
            // Ops on the codes would put their results in the model's manager (DJL puts results in
            // the first operand's): lent to a scratch manager, every intermediate dies with it and
            // only the dequantized weight moves on to the step.
            weight.tempAttach(work);
            if (pairs != null) {
                pairs.tempAttach(work);
            }
            w = Quantization.dequantizeHere(weight, pairs);
            if (w.getDataType() != compute) {
                w = w.toType(compute, false);
            }
            w.attach(step);
            if (hasBias() && compute != DataType.FLOAT32) {
                NDArray bias = bias();
                bias.tempAttach(work);
                // The bias may train (LoRA's bias="all"): its cast must pass gradients back.
                b = NativeOps.castDifferentiable(bias, compute);
                b.attach(step);
            }
        }
        if (hasBias() && b == null) {
            b = bias();
        }
        if (!deltas().isEmpty()) {
            w = deltas().addTo(w, step);
        }
        // Differentiable casts: layers before this one (and LoRA paths around it) need the gradient
        // through the input, which DJL's toType would cut.
        NDArray in = NativeOps.castDifferentiable(x, compute);
        NDArray y = ai.djl.nn.core.Linear.linear(in, w, b).singletonOrThrow();
        return new NDList(NativeOps.castDifferentiable(y, x.getDataType()));
    }

    /** Frees the codes and quant state; the bias goes with the model's parameters. */
    public void closeWeight() {
        weight.close();
        if (pairs != null) {
            pairs.close();
        }
    }

    @Override
    public String toString() {
        return "QuantizedLinear(in=" + inFeatures() + ", out=" + outFeatures() + ", bias=" + hasBias() + ", "
                + weight.state().type() + ")";
    }
}

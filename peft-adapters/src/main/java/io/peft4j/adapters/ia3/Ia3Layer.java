package io.peft4j.adapters.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;

import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.tuner.AdapterLayer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * IA3 on a linear layer (float {@code Linear}, GPT-2's {@code Conv1D} or a quantized layer): one
 * vector {@code ia3_l} per adapter that rescales the output ({@code [out, 1]}, attention keys and
 * values: {@code y = (W x + b) * l}) or, on a feed-forward layer, the input ({@code [1, in]}:
 * {@code y = W (x * l) + b}), as HF PEFT's {@code IA3Layer}. Whether the layer is feed-forward is fixed
 * when it is wrapped, as in HF PEFT.
 */
public final class Ia3Layer extends AdapterLayer {
    /** HF PEFT's guard against dividing by a zero scale when unmerging. */
    private static final float UNMERGE_EPS = 1e-8f;

    private final boolean feedforward;
    private final ScaleVectors scales;

    /**
     * @param base a module implementing {@link LinearLayer}
     * @param feedforward true to scale the input, false to scale the output
     */
    public Ia3Layer(Module base, boolean feedforward) {
        super(base);
        if (!(base instanceof LinearLayer)) {
            throw new IllegalArgumentException("IA3 wraps linear layers only, got " + base.getClass().getSimpleName());
        }
        this.feedforward = feedforward;
        this.scales = registerModule("ia3_l", new ScaleVectors());
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.OTHER;
    }

    public boolean isFeedforward() {
        return feedforward;
    }

    private LinearLayer linear() {
        return (LinearLayer) baseLayer();
    }

    /** The shape of this layer's vector: {@code [1, in]} feed-forward, {@code [out, 1]} otherwise. */
    public Shape vectorShape() {
        return feedforward ? new Shape(1, linear().inFeatures()) : new Shape(linear().outFeatures(), 1);
    }

    /** Creates the adapter's vector: ones ({@code init_ia3_weights}) or standard normal values, as HF PEFT. */
    void addAdapter(String name, boolean initOnes, NDManager manager) {
        scales.put(name, vectorShape(), initOnes ? Initializer.ONES : new NormalInitializer(1f));
        scales.initializeMissing(manager);
        adapterCreated(name);
    }

    /** The adapter's vector as stored. */
    public NDArray scale(String adapter) {
        return scales.get(adapter);
    }

    void setScale(String adapter, NDArray array) {
        scales.setParameterArray(adapter, array);
    }

    @Override
    protected void removeAdapter(String name) {
        scales.remove(name);
    }

    @Override
    public Map<String, NDArray> adapterArrays(String name) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("ia3_l." + name, scale(name));
        return out;
    }

    @Override
    protected NDArray applyAdapter(NDArray x, NDArray baseOutput, String adapter, boolean training) {
        // Each expression starts from a step-owned array: an op whose first operand is the parameter
        // would put its result in the model's manager and leak one array per step.
        NDArray one = scalar(x, 1f);
        NDArray l = one.mul(scale(adapter)).reshape(-1);
        if (!feedforward) {
            return baseOutput.mul(l);
        }
        // The tuner base runs the base layer before the adapter, so W (x * l) + b is computed as
        // (W x + b) + W (x * (l - 1)): equal in exact arithmetic, and bit-identical to the base when l = 1.
        NDArray extra = call(baseLayer(), new ParameterStore(x.getManager(), false), x.mul(l.sub(one)), training);
        if (linear().hasBias()) {
            extra = extra.sub(linear().bias());
        }
        return baseOutput.add(extra);
    }

    /**
     * {@code W * l} (rows, or columns for a feed-forward layer) and for output scaling the bias too,
     * as HF PEFT's merge. A quantized base is dequantized, scaled and quantized again (adding rounding error).
     */
    @Override
    protected void mergeAdapter(String name) {
        rescale(name, false);
    }

    /** Divides by {@code l + 1e-8}, as HF PEFT's unmerge. */
    @Override
    protected void unmergeAdapter(String name) {
        rescale(name, true);
    }

    private void rescale(String name, boolean divide) {
        NDArray l = scale(name);
        try (NDManager tmp = l.getManager().newSubManager()) {
            NDArray w = linear().readWeight(tmp);
            NDArray factor = tmp.create(1f).mul(l);
            if (divide) {
                factor = factor.add(UNMERGE_EPS);
            }
            NDArray scaled = divide ? w.div(factor) : w.mul(factor);
            scaled.detach();
            linear().writeWeight(scaled);
            if (!feedforward && linear().hasBias()) {
                NDArray b = linear().bias();
                NDArray flat = factor.reshape(-1);
                NDArray nb = divide ? tmp.create(1f).mul(b).div(flat) : tmp.create(1f).mul(b).mul(flat);
                nb.attach(b.getManager());
                baseLayer().setParameterArray("bias", nb);
            }
        }
    }

    @Override
    public String toString() {
        return "Ia3Layer(" + baseLayer() + ", feedforward=" + feedforward + ", adapters=" + adapterNames() + ")";
    }
}

package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.UniformInitializer;

import io.peft4j.core.nn.Conv1D;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.ModuleDict;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.WeightDelta;
import io.peft4j.core.quant.QuantizedLinear;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on a linear layer: {@code y = W x + b + scaling * B A dropout(x)}, with {@code lora_A} of
 * shape {@code [r, in]} and {@code lora_B} of shape {@code [out, r]} per adapter, named as HF PEFT
 * names them ({@code lora_A.<adapter>.weight}). With DoRA the layer computes
 * {@code m * (W + scaling B A) x / ||W + scaling B A||_row + b}, the norm taken as a constant as in
 * the DoRA paper (section 4.3) and HF PEFT.
 */
public final class LoraLinear extends LoraLayer {
    /** The base: a float32 {@link Linear} or {@link Conv1D}, or a frozen {@link QuantizedLinear} (QLoRA). */
    private Module base;
    private final ModuleDict loraA;
    private final ModuleDict loraB;
    private final ModuleDict magnitudes;

    public LoraLinear(Linear base) {
        this((Module) base);
    }

    /** LoRA on GPT-2's {@code [in, out]} layer: its merge adds {@code (B A)^T}, HF PEFT's {@code fan_in_fan_out}. */
    public LoraLinear(Conv1D base) {
        this((Module) base);
    }

    /** LoRA on a quantized base layer: QLoRA. */
    public LoraLinear(QuantizedLinear base) {
        this((Module) base);
    }

    private LoraLinear(Module base) {
        super(base);
        this.base = base;
        this.loraA = registerModule("lora_A", new ModuleDict());
        this.loraB = registerModule("lora_B", new ModuleDict());
        this.magnitudes = registerModule("lora_magnitude_vector", new ModuleDict());
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.OTHER;
    }

    /** The base layer: a {@link Linear}, a {@link Conv1D} or a {@link QuantizedLinear}. */
    public Module base() {
        return base;
    }

    /** Swaps a quantized base for the float32 layer it stands for, with its dequantized weight (and frees the codes). */
    void dequantizeBase(NDManager manager) {
        QuantizedLinear q = quantizedBase();
        if (q == null) {
            return;
        }
        Module dense = q.toFloatLayer(manager);
        replaceChild(BASE_LAYER, dense);
        base = dense;
        q.closeWeight();
        q.parameters().values().forEach(ai.djl.nn.Parameter::close);
    }

    private QuantizedLinear quantizedBase() {
        return base instanceof QuantizedLinear ? (QuantizedLinear) base : null;
    }

    /** Shapes and bias of the base, whichever way it stores its weight. */
    private LinearLayer linear() {
        return (LinearLayer) base;
    }

    /**
     * The base weight as float32 for arithmetic in {@code manager}'s lifetime: a quantized base is
     * dequantized into it; a float32 base's parameter is returned as it is (callers start their
     * expressions from arrays they own, so results still land in their manager).
     */
    private NDArray denseWeight(NDManager manager) {
        if (quantizedBase() != null) {
            return quantizedBase().dequantizedWeight(manager);
        }
        // A Conv1D stores [in, out]: its [out, in] copy is made in the caller's manager.
        return base instanceof Linear ? ((Linear) base).weight() : linear().readWeight(manager);
    }

    public NDArray loraA(String adapter) {
        return ((Linear) loraA.get(adapter)).weight();
    }

    public NDArray loraB(String adapter) {
        return ((Linear) loraB.get(adapter)).weight();
    }

    @Override
    protected void createAdapter(String name, AdapterSettings s, InitLoraWeights init, NDManager manager) {
        long in = linear().inFeatures();
        long out = linear().outFeatures();
        int r = s.r();
        Initializer initA;
        Initializer initB = Initializer.ZEROS;
        switch (init) {
            case GAUSSIAN:
                initA = new NormalInitializer(1f / r);
                break;
            case RANDOM:
                initA = new UniformInitializer((float) (1 / Math.sqrt(in)));
                initB = new UniformInitializer((float) (1 / Math.sqrt(r)));
                break;
            default:
                // Kaiming-uniform with a = sqrt(5), torch's nn.Linear default: bound 1/sqrt(fan_in).
                initA = new UniformInitializer((float) (1 / Math.sqrt(in)));
        }
        Linear a = new Linear(in, r, false, initA);
        Linear b = new Linear(r, out, false, initB);
        a.initializeMissing(manager);
        b.initializeMissing(manager);
        if (init == InitLoraWeights.PISSA) {
            Linear dense = (Linear) base; // LoraPlan refuses PiSSA on quantized bases
            Pissa.Factors f = Pissa.factor(dense.weight(), r, s.scaling(), manager);
            a.setParameterArray("weight", f.a());
            b.setParameterArray("weight", f.b());
            dense.setParameterArray("weight", f.residual());
        }
        loraA.put(name, a);
        loraB.put(name, b);
        if (s.dora()) {
            DoraMagnitude m = new DoraMagnitude(out);
            NDArray norm;
            try (NDManager tmp = manager.newSubManager()) {
                NDArray w = readBaseWeight(tmp);
                a.weight().tempAttach(tmp);
                b.weight().tempAttach(tmp);
                norm = w.add(b.weight().matMul(a.weight()).mul(s.scaling())).norm(new int[] {1});
                norm.attach(manager);
            }
            m.setParameterArray("weight", norm);
            magnitudes.put(name, m);
        }
    }

    @Override
    protected void removeMatrices(String name) {
        close(loraA.remove(name));
        close(loraB.remove(name));
        if (magnitudes.contains(name)) {
            close(magnitudes.remove(name));
        }
    }

    private static void close(io.peft4j.core.nn.Module m) {
        m.parameters().values().forEach(ai.djl.nn.Parameter::close);
    }

    @Override
    public Map<String, NDArray> adapterArrays(String name) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("lora_A." + name + ".weight", loraA(name));
        out.put("lora_B." + name + ".weight", loraB(name));
        if (magnitudes.contains(name)) {
            out.put("lora_magnitude_vector." + name + ".weight", ((DoraMagnitude) magnitudes.get(name)).weight());
        }
        return out;
    }

    /** HF PEFT saves DoRA's magnitude as {@code lora_magnitude_vector}, without {@code .weight}. */
    @Override
    public String savedKey(String relative, String adapter) {
        return relative.startsWith("lora_magnitude_vector.") ? "lora_magnitude_vector" : super.savedKey(relative, adapter);
    }

    /**
     * The adapter's plain-LoRA update {@code scaling B A} as a weight delta, differentiable in A and B:
     * added to a linear layer (this base or another), it computes what this layer computes, e.g.
     * for composing adapters or applying one to a copy of the base.
     */
    public WeightDelta weightDelta(String adapter) {
        AdapterSettings s = settings(adapter);
        if (s.dora()) {
            throw new IllegalArgumentException("Adapter '" + adapter + "' uses DoRA, whose rescaling is not an additive delta");
        }
        return step -> step.create(s.scaling()).mul(loraB(adapter)).matMul(loraA(adapter));
    }

    @Override
    protected NDArray matrixA(String name) {
        return loraA(name);
    }

    @Override
    protected NDArray matrixB(String name) {
        return loraB(name);
    }

    @Override
    protected void setMatrices(String name, NDArray a, NDArray b) {
        loraA.get(name).setParameterArray("weight", a);
        loraB.get(name).setParameterArray("weight", b);
    }

    @Override
    protected NDArray readBaseWeight(NDManager tmp) {
        return linear().readWeight(tmp);
    }

    /** A quantized base quantizes the merged weight again, adding rounding error, as HF PEFT does for bitsandbytes layers. */
    @Override
    protected void writeBaseWeight(NDArray w) {
        linear().writeWeight(w);
    }

    @Override
    protected NDArray delta(String name) {
        return loraB(name).matMul(loraA(name)).mul(settings(name).scaling());
    }

    @Override
    protected NDArray magnitude(String name) {
        return magnitudes.contains(name) ? ((DoraMagnitude) magnitudes.get(name)).weight() : null;
    }

    @Override
    protected NDArray applyAdapter(NDArray x, NDArray result, String adapter, boolean training) {
        AdapterSettings s = settings(adapter);
        NDArray dropped = s.dropout() > 0 && training ? Dropout.dropout(x, s.dropout(), true).singletonOrThrow() : x;
        NDArray a = loraA(adapter);
        NDArray b = loraB(adapter);
        NDArray scale = scalar(x, s.scaling());
        NDArray lora = linear(linear(dropped, a), b);
        if (!s.dora()) {
            return result.add(lora.mul(scale));
        }
        NDArray w = denseWeight(x.getManager());
        // Results land in their first operand's manager, so each expression starts from a step-owned
        // array (scale): starting from a parameter would leak one array per step into the model's manager.
        NDArray norm = scale.mul(b).matMul(a).add(w).norm(new int[] {1}).stopGradient();
        NDArray magScale = scalar(x, 1f).mul(magnitude(adapter)).div(norm);
        NDArray baseOut;
        if (dropped == x) {
            baseOut = linear().hasBias() ? result.sub(linear().bias()) : result;
        } else {
            baseOut = linear(dropped, w);
        }
        return result.add(baseOut.mul(magScale.sub(scalar(x, 1f)))).add(lora.mul(scale).mul(magScale));
    }

    private static NDArray linear(NDArray x, NDArray w) {
        return ai.djl.nn.core.Linear.linear(x, w, null).singletonOrThrow();
    }

    @Override
    public String toString() {
        return "LoraLinear(" + base + ", adapters=" + adapterNames() + ")";
    }
}

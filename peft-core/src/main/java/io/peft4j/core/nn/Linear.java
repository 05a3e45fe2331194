package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/** {@code y = x W^T + b}, with {@code weight} stored {@code [out, in]} as in PyTorch and transformers. */
public class Linear extends LinearModule {
    public Linear(long inFeatures, long outFeatures, boolean bias) {
        this(inFeatures, outFeatures, bias, new NormalInitializer(0.02f));
    }

    /** With an explicit weight initializer for freshly created layers (loaded layers ignore it). */
    public Linear(long inFeatures, long outFeatures, boolean bias, Initializer weightInit) {
        super(inFeatures, outFeatures, bias);
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(outFeatures, inFeatures), weightInit);
        if (bias) {
            registerParameter("bias", Parameter.Type.BIAS, new Shape(outFeatures), Initializer.ZEROS);
        }
    }

    public NDArray weight() {
        return param("weight");
    }

    @Override
    public NDArray readWeight(NDManager manager) {
        NDArray w = weight();
        NDArray copy = w.getDataType() == DataType.FLOAT32 ? w.duplicate() : w.toType(DataType.FLOAT32, true);
        copy.attach(manager);
        return copy;
    }

    @Override
    public void writeWeight(NDArray w) {
        NDArray old = weight();
        NDArray stored = w.getDataType() == old.getDataType() ? w : w.toType(old.getDataType(), false);
        if (stored != w) {
            w.close();
        }
        stored.attach(old.getManager());
        setParameterArray("weight", stored);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        // A frozen weight may be stored in float16 (MixedPrecision): compute in the input's dtype.
        NDArray w = MixedPrecision.forCompute(weight(), x.getDataType(), x.getManager());
        if (!deltas().isEmpty()) {
            w = deltas().addTo(w, x.getManager());
        }
        NDArray b = hasBias() ? MixedPrecision.forCompute(bias(), x.getDataType(), x.getManager()) : null;
        return ai.djl.nn.core.Linear.linear(x, w, b);
    }

    @Override
    public String toString() {
        return "Linear(in=" + inFeatures() + ", out=" + outFeatures() + ", bias=" + hasBias() + ")";
    }
}

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

/**
 * transformers' {@code Conv1D} (GPT-2's projections): a linear layer {@code y = x W + b} whose
 * {@code weight} is stored {@code [in, out]}, the transpose of {@link Linear}'s. As a {@link LinearLayer}
 * it speaks {@code [out, in]}: {@link #readWeight} returns {@code W^T} and {@link #writeWeight} takes
 * {@code [out, in]} and stores its transpose, and weight deltas are {@code [out, in]} too. So an
 * adapter's merge adds {@code (B A)^T} to the stored weight, which is what HF PEFT's
 * {@code fan_in_fan_out=True} does on this layer.
 */
public class Conv1D extends LinearModule {
    public Conv1D(long inFeatures, long outFeatures) {
        super(inFeatures, outFeatures, true);
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(inFeatures, outFeatures), new NormalInitializer(0.02f));
        registerParameter("bias", Parameter.Type.BIAS, new Shape(outFeatures), Initializer.ZEROS);
    }

    /** The stored weight {@code [in, out]}, as in the checkpoint. */
    public NDArray weight() {
        return param("weight");
    }

    @Override
    public NDArray readWeight(NDManager manager) {
        // The transposed view lands in the weight's manager: copy it out and free the view at once.
        NDArray view = weight().transpose();
        NDArray copy = view.toType(DataType.FLOAT32, true);
        view.close();
        copy.attach(manager);
        return copy;
    }

    @Override
    public void writeWeight(NDArray w) {
        NDArray old = weight();
        NDArray view = w.transpose();
        NDArray stored = view.toType(old.getDataType(), true);
        view.close();
        w.close();
        stored.attach(old.getManager());
        setParameterArray("weight", stored);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = MixedPrecision.forCompute(weight(), x.getDataType(), x.getManager());
        NDArray b = MixedPrecision.forCompute(bias(), x.getDataType(), x.getManager());
        NDArray y = x.matMul(w).add(b);
        // Deltas are [out, in] (the LinearLayer convention): x D^T each, so that no transpose of the
        // stored weight is made in the model's manager every step.
        for (WeightDelta d : deltas().list()) {
            y = y.add(ai.djl.nn.core.Linear.linear(x, d.delta(x.getManager()), null).singletonOrThrow());
        }
        return new NDList(y);
    }

    @Override
    public String toString() {
        return "Conv1D(nf=" + outFeatures() + ", nx=" + inFeatures() + ")";
    }
}

package io.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.task.Task;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A linear model {@code y = W x + b} under a mean-squared-error task, whose gradient has a closed form:
 * with residuals {@code r_i = W x_i + b - y_i} over {@code N} examples and {@code O} outputs,
 * {@code dL/dW = 2/(N O) sum_i r_i x_i^T} and {@code dL/db = 2/(N O) sum_i r_i}. Tests of the trainer's
 * mechanics compare against it computed in double precision. No dropout, so steps are deterministic.
 */
final class LinearRegression {
    static final int IN = 4;
    static final int OUT = 2;
    static final String X = "x";
    static final String Y = "y";

    final double[][] x;
    final double[][] y;

    LinearRegression(int n, long seed) {
        Random r = new Random(seed);
        x = new double[n][IN];
        y = new double[n][OUT];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < IN; j++) {
                x[i][j] = (float) r.nextGaussian();
            }
            for (int o = 0; o < OUT; o++) {
                y[i][o] = (float) (3 * r.nextGaussian());
            }
        }
    }

    /** A fresh model with weights drawn from {@code seed} (float32 values, so double copies are exact). */
    static PeftModel model(long seed) {
        NDManager manager = Compute.newManager();
        Linear root = new Linear(IN, OUT, true);
        PeftModel m = new PeftModel(root, manager, "linear-regression", "Linear");
        Random r = new Random(seed);
        float[] w = new float[IN * OUT];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        float[] b = {0.5f, -0.25f};
        root.setParameterArray("weight", manager.create(w, new Shape(OUT, IN)));
        root.setParameterArray("bias", manager.create(b, new Shape(OUT)));
        m.setAllTrainable(true);
        return m;
    }

    Batches batches() {
        return new Batches() {
            @Override
            public int size() {
                return x.length;
            }

            @Override
            public Batch batch(NDManager manager, int[] indices) {
                float[] xs = new float[indices.length * IN];
                float[] ys = new float[indices.length * OUT];
                for (int i = 0; i < indices.length; i++) {
                    for (int j = 0; j < IN; j++) {
                        xs[i * IN + j] = (float) x[indices[i]][j];
                    }
                    for (int o = 0; o < OUT; o++) {
                        ys[i * OUT + o] = (float) y[indices[i]][o];
                    }
                }
                return Batch.builder(indices.length)
                        .put(X, manager.create(xs, new Shape(indices.length, IN)))
                        .put(Y, manager.create(ys, new Shape(indices.length, OUT)))
                        .build();
            }
        };
    }

    /** Mean squared error over all outputs of the batch. */
    static final class MeanSquaredError implements Task {
        @Override
        public NDArray loss(PeftModel model, Batch batch, boolean training) {
            NDArray pred = model.forward(new NDList(batch.require(X)), training).get(0);
            return pred.sub(batch.require(Y)).square().mean();
        }

        @Override
        public Metrics evaluate(PeftModel model, Batches data, int batchSize) {
            int[] all = new int[data.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            try (NDManager sm = model.manager().newSubManager()) {
                Map<String, Double> out = new LinkedHashMap<>();
                out.put(Metrics.LOSS, (double) loss(model, data.batch(sm, all), false).getFloat());
                return new Metrics(out);
            }
        }
    }

    /**
     * The closed-form gradient over all examples at weights {@code w [OUT][IN]} and bias {@code b}:
     * {@code [0]} is dL/dW flattened row-major, {@code [1]} dL/db.
     */
    double[][] gradient(double[] w, double[] b) {
        int n = x.length;
        double[] gw = new double[OUT * IN];
        double[] gb = new double[OUT];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < OUT; o++) {
                double r = b[o] - y[i][o];
                for (int j = 0; j < IN; j++) {
                    r += w[o * IN + j] * x[i][j];
                }
                double scale = 2.0 / (n * OUT);
                gb[o] += scale * r;
                for (int j = 0; j < IN; j++) {
                    gw[o * IN + j] += scale * r * x[i][j];
                }
            }
        }
        return new double[][] {gw, gb};
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}

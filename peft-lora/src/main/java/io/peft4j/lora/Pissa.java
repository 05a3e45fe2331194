package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;

/**
 * PiSSA initialization (Meng et al. 2024): with {@code W = U S V^T}, {@code B = U_r sqrt(S_r / scaling)},
 * {@code A = sqrt(S_r / scaling) V_r^T}, and the base keeps {@code W - scaling B A}, so the layer's
 * output is unchanged while the adapter holds the principal directions.
 *
 * <p>The decomposition is Commons Math's exact SVD in double precision: neither DJL nor its PyTorch
 * engine exposes {@code torch.linalg.svd}. It is a one-time cost per layer (well under a second for
 * a 384 x 1536 matrix); HF PEFT's approximate {@code pissa_niter_<n>} is accepted and computed exactly.
 */
final class Pissa {
    private Pissa() {}

    static final class Factors {
        private final NDArray a;
        private final NDArray b;
        private final NDArray residual;

        Factors(NDArray a, NDArray b, NDArray residual) {
            this.a = a;
            this.b = b;
            this.residual = residual;
        }

        NDArray a() {
            return a;
        }

        NDArray b() {
            return b;
        }

        NDArray residual() {
            return residual;
        }
    }

    static Factors factor(NDArray weight, int r, float scaling, NDManager manager) {
        Shape shape = weight.getShape();
        int out = (int) shape.get(0);
        int in = (int) shape.get(1);
        if (r > Math.min(out, in)) {
            throw new IllegalArgumentException("PiSSA needs r <= min(out, in) = " + Math.min(out, in) + ", got r = " + r);
        }
        float[] flat = weight.toFloatArray();
        double[][] w = new double[out][in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                w[o][i] = flat[o * in + i];
            }
        }
        SingularValueDecomposition svd = new SingularValueDecomposition(new Array2DRowRealMatrix(w, false));
        RealMatrix u = svd.getU();
        RealMatrix v = svd.getV();
        double[] sv = svd.getSingularValues();
        double[][] a = new double[r][in];
        double[][] b = new double[out][r];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(sv[k] / scaling);
            for (int i = 0; i < in; i++) {
                a[k][i] = root * v.getEntry(i, k);
            }
            for (int o = 0; o < out; o++) {
                b[o][k] = u.getEntry(o, k) * root;
            }
        }
        float[] af = new float[r * in];
        float[] bf = new float[out * r];
        for (int k = 0; k < r; k++) {
            for (int i = 0; i < in; i++) {
                af[k * in + i] = (float) a[k][i];
            }
        }
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                bf[o * r + k] = (float) b[o][k];
            }
        }
        // The residual uses the float-rounded factors, so that residual + scaling * B A (as the layer
        // computes it) reproduces W as closely as float32 allows.
        float[] res = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) {
                    ba += (double) bf[o * r + k] * af[k * in + i];
                }
                res[o * in + i] = (float) (w[o][i] - scaling * ba);
            }
        }
        return new Factors(manager.create(af, new Shape(r, in)), manager.create(bf, new Shape(out, r)),
                manager.create(res, new Shape(out, in)));
    }
}

package io.peft4j.sparse.spiel;

/**
 * SpIEL-MA's growth signal for one {@code [out, in]} weight: SM3's row and column accumulators
 * (Anil et al. 2019) of the squared gradients of the active values. A step with gradient {@code g} at
 * {@code (i, j)} gives {@code nu = min(row_i, col_j) + g^2}; each row and column keeps the largest
 * {@code nu} it has seen. An inactive position scores {@code min(row_i, col_j)}: the second-moment
 * bound SM3 would give it, from {@code out + in} floats instead of {@code out × in}.
 */
final class Sm3Accumulators {
    final float[] rows;
    final float[] cols;

    Sm3Accumulators(int out, int in) {
        this(new float[out], new float[in]);
    }

    Sm3Accumulators(float[] rows, float[] cols) {
        this.rows = rows;
        this.cols = cols;
    }

    /** One step's gradients {@code g[k]} at flat positions {@code idx[k]}; every {@code nu} reads the accumulators before the step. */
    void update(long[] idx, float[] g) {
        int in = cols.length;
        float[] nr = rows.clone();
        float[] nc = cols.clone();
        for (int k = 0; k < idx.length; k++) {
            int i = (int) (idx[k] / in);
            int j = (int) (idx[k] % in);
            float nu = Math.min(rows[i], cols[j]) + g[k] * g[k];
            nr[i] = Math.max(nr[i], nu);
            nc[j] = Math.max(nc[j], nu);
        }
        System.arraycopy(nr, 0, rows, 0, rows.length);
        System.arraycopy(nc, 0, cols, 0, cols.length);
    }

    float score(long position) {
        int in = cols.length;
        return Math.min(rows[(int) (position / in)], cols[(int) (position % in)]);
    }
}

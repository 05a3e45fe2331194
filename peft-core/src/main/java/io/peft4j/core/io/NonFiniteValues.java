package io.peft4j.core.io;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds NaN and infinite values in floating-point tensors before they reach a model, where they
 * would turn every logit into NaN without a word. Loaders refuse them by default; setting the
 * system property {@value #ALLOW_PROPERTY} to {@code true} lets them through (for a checkpoint that
 * is known to hold them on purpose, e.g. a mask of {@code -inf}).
 */
public final class NonFiniteValues {
    /** The explicit opt-out: {@code -Dpeft4j.allowNonFiniteWeights=true}. */
    public static final String ALLOW_PROPERTY = "peft4j.allowNonFiniteWeights";
    /** Names listed in a message at most: the count says how many there are. */
    static final int MAX_NAMES = 3;
    private static final int CHUNK_BYTES = 1 << 20;

    private NonFiniteValues() {}

    /** True unless {@value #ALLOW_PROPERTY} is {@code true}. */
    public static boolean refused() {
        return !Boolean.getBoolean(ALLOW_PROPERTY);
    }

    /** The number of NaN and infinite elements (0 for integer dtypes, which hold neither). */
    public static long count(Tensor t) {
        int width = t.dtype().byteSize();
        long size = t.byteSize();
        long count = 0;
        long chunk = CHUNK_BYTES - CHUNK_BYTES % width;
        for (long at = 0; at < size; at += chunk) {
            ByteBuffer b = t.bytes(at, (int) Math.min(chunk, size - at));
            switch (t.dtype()) {
                case F32:
                    while (b.hasRemaining()) {
                        count += (b.getInt() & 0x7f800000) == 0x7f800000 ? 1 : 0;
                    }
                    break;
                case F64:
                    while (b.hasRemaining()) {
                        count += (b.getLong() & 0x7ff0000000000000L) == 0x7ff0000000000000L ? 1 : 0;
                    }
                    break;
                case F16:
                    while (b.hasRemaining()) {
                        count += (b.getShort() & 0x7c00) == 0x7c00 ? 1 : 0;
                    }
                    break;
                case BF16:
                    while (b.hasRemaining()) {
                        count += (b.getShort() & 0x7f80) == 0x7f80 ? 1 : 0;
                    }
                    break;
                default:
                    return 0;
            }
        }
        return count;
    }

    /**
     * Throws when any tensor holds a non-finite value, unless {@value #ALLOW_PROPERTY} allows them.
     * The message names the source, how many tensors and values, and at most {@value #MAX_NAMES} tensors.
     *
     * @param source e.g. a file or {@code LoRA adapter 'default'}
     */
    public static void check(String source, Map<String, Tensor> tensors) {
        if (!refused()) {
            return;
        }
        List<String> named = new ArrayList<>();
        int bad = 0;
        long values = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long n = count(e.getValue());
            if (n > 0) {
                bad++;
                values += n;
                if (named.size() < MAX_NAMES) {
                    named.add("'" + e.getKey() + "' (" + n + " of " + e.getValue().numel() + ")");
                }
            }
        }
        if (bad > 0) {
            throw new IllegalArgumentException(source + ": " + bad + " tensor" + (bad == 1 ? "" : "s") + " hold "
                    + values + " NaN or infinite value" + (values == 1 ? "" : "s") + ": " + String.join(", ", named)
                    + (bad > named.size() ? ", ..." : "") + ". Set -D" + ALLOW_PROPERTY + "=true to load them anyway");
        }
    }
}

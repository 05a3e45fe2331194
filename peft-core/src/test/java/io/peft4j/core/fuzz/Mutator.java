package io.peft4j.core.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level mutations of a well-formed file, of the kinds a hostile or careless user produces:
 * bit flips, truncations, huge/negative/non-finite numbers, dtype swaps, duplicate keys, non-UTF-8
 * bytes, NaN in tensor data, trailing garbage.
 */
final class Mutator {
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?");
    private static final Pattern DTYPE = Pattern.compile("\"(F64|F32|F16|BF16|I64|I32|I16|I8|U8|BOOL)\"");
    private static final String[] NUMBERS = {"-1", "0", "4294967304", "9223372036854775807", "99999999999999999999",
            "1e39", "-1e39", "0.5", "-0.5", "1000000000", "2.0", "1099511627776"};
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL",
            "U16", "U32", "U64", "F8_E4M3", "XX"};
    static final int KINDS = 8;

    private final Random random;

    Mutator(long seed) {
        random = new Random(seed);
    }

    /** @param textEnd bytes of {@code in} that are JSON text (the safetensors header, or the whole config) */
    byte[] mutate(byte[] in, int textStart, int textEnd, int kind) {
        byte[] out = in.clone();
        switch (kind) {
            case 0: {
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    int at = random.nextInt(out.length);
                    out[at] ^= (byte) (1 << random.nextInt(8));
                }
                return out;
            }
            case 1:
                return java.util.Arrays.copyOf(out, random.nextInt(out.length));
            case 2:
                return replaceOne(in, textStart, textEnd, NUMBER, NUMBERS[random.nextInt(NUMBERS.length)]);
            case 3:
                return replaceOne(in, textStart, textEnd, DTYPE, "\"" + DTYPES[random.nextInt(DTYPES.length)] + "\"");
            case 4: {
                // Repeat the first key of the object right after the opening brace.
                String text = new String(in, textStart, textEnd - textStart, StandardCharsets.UTF_8);
                int colon = text.indexOf("\":");
                int open = text.indexOf('"');
                if (colon < 0 || open < 0) {
                    return out;
                }
                return splice(in, textStart + text.indexOf('{') + 1, text.substring(open, colon + 2) + "0,");
            }
            case 5: {
                int at = textStart + random.nextInt(Math.max(1, textEnd - textStart));
                out[at] = (byte) (random.nextBoolean() ? 0xFF : 0xC3);
                return out;
            }
            case 6:
                if (textEnd < in.length - 4) {
                    int at = textEnd + random.nextInt((in.length - textEnd) / 4) * 4;
                    int nan = Float.floatToRawIntBits(random.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY);
                    for (int i = 0; i < 4; i++) {
                        out[at + i] = (byte) (nan >>> (8 * i));
                    }
                    return out;
                }
                return replaceOne(in, textStart, textEnd, NUMBER, "1e39");
            default: {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                b.writeBytes(in);
                byte[] junk = new byte[1 + random.nextInt(16)];
                random.nextBytes(junk);
                b.writeBytes(junk);
                return b.toByteArray();
            }
        }
    }

    /** Replaces one random match in the text part, keeping a safetensors header's length prefix right. */
    private byte[] replaceOne(byte[] in, int textStart, int textEnd, Pattern p, String with) {
        String text = new String(in, textStart, textEnd - textStart, StandardCharsets.UTF_8);
        Matcher m = p.matcher(text);
        int count = 0;
        while (m.find()) {
            count++;
        }
        if (count == 0) {
            return in.clone();
        }
        int pick = random.nextInt(count);
        m.reset();
        for (int i = 0; i <= pick; i++) {
            m.find();
        }
        String mutated = text.substring(0, m.start()) + with + text.substring(m.end());
        return withText(in, textStart, textEnd, mutated);
    }

    private static byte[] splice(byte[] in, int at, String insert) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(in, 0, at);
        b.writeBytes(insert.getBytes(StandardCharsets.UTF_8));
        b.write(in, at, in.length - at);
        byte[] out = b.toByteArray();
        fixPrefix(out, in, insert.getBytes(StandardCharsets.UTF_8).length);
        return out;
    }

    private static byte[] withText(byte[] in, int textStart, int textEnd, String text) {
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(in, 0, textStart);
        b.writeBytes(t);
        b.write(in, textEnd, in.length - textEnd);
        byte[] out = b.toByteArray();
        fixPrefix(out, in, t.length - (textEnd - textStart));
        return out;
    }

    /** A safetensors file (text after an 8-byte prefix) keeps a header length that matches the edit. */
    private static void fixPrefix(byte[] out, byte[] in, int delta) {
        if (in.length < 8 || in[8] != '{') {
            return;
        }
        long len = 0;
        for (int i = 7; i >= 0; i--) {
            len = (len << 8) | (in[i] & 0xFF);
        }
        len += delta;
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (len >>> (8 * i));
        }
    }
}

package io.peft4j.core.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (through DJL's tokenizers) that turns sentences into the
 * model inputs {@code input_ids}, {@code attention_mask}, {@code token_type_ids}, padded to the
 * longest sentence of the batch and truncated to {@code maxLength} tokens. Model-independent: every
 * family's data goes through it.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    /** The same tokenizer without truncation or padding: the pieces of texts that peft4j assembles or cuts itself. */
    private final HuggingFaceTokenizer untruncated;
    private final int maxLength;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, HuggingFaceTokenizer untruncated, int maxLength) {
        this.tokenizer = tokenizer;
        this.untruncated = untruncated;
        this.maxLength = maxLength;
    }

    public static TextTokenizer fromJson(InputStream tokenizerJson, int maxLength) throws IOException {
        return fromJson(tokenizerJson, maxLength, false);
    }

    /**
     * @param padToMaxLength pad every batch to {@code maxLength} tokens instead of its longest
     *     sentence: fixed shapes, e.g. for benchmarks at a given sequence length
     */
    public static TextTokenizer fromJson(InputStream tokenizerJson, int maxLength, boolean padToMaxLength) throws IOException {
        Compute.ensureOffline();
        byte[] json = tokenizerJson.readAllBytes();
        Map<String, String> options = Map.of(
                "padding", padToMaxLength ? "max_length" : "longest",
                "truncation", "true",
                "maxLength", Integer.toString(maxLength),
                "addSpecialTokens", "true");
        Map<String, String> raw = Map.of("padding", "false", "truncation", "false", "addSpecialTokens", "false");
        return new TextTokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options),
                HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), raw), maxLength);
    }

    public static TextTokenizer fromJson(Path tokenizerJson, int maxLength) throws IOException {
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return fromJson(in, maxLength);
        }
    }

    public int maxLength() {
        return maxLength;
    }

    /** Encodes a batch: {@code input_ids}, {@code attention_mask}, {@code token_type_ids}, each {@code [B, T]} int64. */
    public NDList encode(NDManager manager, List<String> sentences) {
        Encoding[] enc = tokenizer.batchEncode(sentences);
        int b = enc.length;
        int t = enc[0].getIds().length;
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        long[] types = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(enc[i].getIds(), 0, ids, i * t, t);
            System.arraycopy(enc[i].getAttentionMask(), 0, mask, i * t, t);
            System.arraycopy(enc[i].getTypeIds(), 0, types, i * t, t);
        }
        Shape shape = new Shape(b, t);
        NDArray idArr = manager.create(ids, shape);
        NDArray maskArr = manager.create(mask, shape);
        NDArray typeArr = manager.create(types, shape);
        return new NDList(idArr, maskArr, typeArr);
    }

    /** The ids of one text as the model takes it: special tokens added (e.g. Llama's BOS), truncated to {@code maxLength}. */
    public long[] modelInputIds(String text) {
        return tokenizer.encode(text).getIds();
    }

    /**
     * The ids of a text without special tokens ({@code [CLS]}, {@code [SEP]}, BOS, ...) and untruncated:
     * the pieces a causal-LM example is assembled from (the example is cut to length afterwards).
     */
    public long[] tokenIds(String text) {
        return untruncated.encode(text, false, false).getIds();
    }

    /**
     * The ids of a whole text (untruncated, no special tokens added; special tokens written in the text,
     * such as a chat template's {@code <|im_start|>}, are recognised) with where each token comes from in
     * the text: {@code start[i]} and {@code end[i]} are indices into the Java string. Used to find which
     * tokens come from a span of the text (an assistant's turn) after tokenizing the text as a whole.
     */
    public TokenSpans tokenSpans(String text) {
        Encoding e = untruncated.encode(text, false, false);
        long[] ids = e.getIds();
        CharSpan[] spans = e.getCharTokenSpans();
        int[] start = new int[ids.length];
        int[] end = new int[ids.length];
        // The tokenizers library counts Unicode code points; a Java string counts UTF-16 units.
        int[] utf16 = new int[text.codePointCount(0, text.length()) + 1];
        for (int cp = 0, i = 0; cp < utf16.length; cp++) {
            utf16[cp] = i;
            if (i < text.length()) {
                i += Character.charCount(text.codePointAt(i));
            }
        }
        for (int k = 0; k < ids.length; k++) {
            CharSpan span = spans[k];
            start[k] = span == null ? -1 : utf16[Math.min(span.getStart(), utf16.length - 1)];
            end[k] = span == null ? -1 : utf16[Math.min(span.getEnd(), utf16.length - 1)];
        }
        return new TokenSpans(ids, start, end);
    }

    /** Token ids with the text span of each ({@code -1} for a token that comes from no text). */
    public record TokenSpans(long[] ids, int[] start, int[] end) {
    }

    /** The one id of a token the vocabulary holds whole (e.g. an end-of-sequence token); otherwise an error naming it. */
    public long tokenId(String token) {
        long[] ids = tokenIds(token);
        if (ids.length != 1) {
            throw new IllegalArgumentException("'" + token + "' is not a single token of this tokenizer; it encodes to "
                    + ids.length + " ids");
        }
        return ids[0];
    }

    /** The text of ids, special tokens skipped. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    @Override
    public void close() {
        tokenizer.close();
        untruncated.close();
    }
}

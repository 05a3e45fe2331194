package io.peft4j.cli;

import io.peft4j.core.text.TextTokenizer;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints generated text as tokens arrive. Decoding tokens one by one loses what depends on their
 * neighbours (SentencePiece's leading spaces, byte-fallback characters split over several tokens),
 * so, as transformers' {@code TextStreamer}, it decodes everything generated so far and prints what is
 * new, holding back while the text ends in an incomplete character. The prompt is decoded with the
 * continuation and its text cut off, so the continuation keeps the space a tokenizer's decoder strips
 * from the start of a text (SentencePiece's {@code Strip} decoder).
 */
final class TextStreamer {
    private static final char REPLACEMENT = '\uFFFD';

    private final TextTokenizer tokenizer;
    private final PrintWriter out;
    private final List<Long> ids = new ArrayList<>();
    private final String promptText;
    private int printed;

    TextStreamer(TextTokenizer tokenizer, PrintWriter out, String prompt) {
        this.tokenizer = tokenizer;
        this.out = out;
        for (long id : tokenizer.tokenIds(prompt)) {
            ids.add(id);
        }
        this.promptText = decode();
    }

    /** The text generated so far. */
    private String decode() {
        String all = tokenizer.decode(ids.stream().mapToLong(Long::longValue).toArray());
        return promptText == null ? all : all.startsWith(promptText) ? all.substring(promptText.length()) : all;
    }

    void accept(long id) {
        ids.add(id);
        String text = decode();
        if (text.length() > printed && text.charAt(text.length() - 1) != REPLACEMENT) {
            out.print(text.substring(printed));
            out.flush();
            printed = text.length();
        }
    }

    /**
     * The text of generated ids after a prompt's ids, decoded together and the prompt's text cut off (so a
     * leading space the decoder strips at the start of a text is kept, as while streaming).
     */
    static String continuation(TextTokenizer tokenizer, long[] prompt, long[] generated) {
        String before = tokenizer.decode(prompt);
        long[] all = java.util.Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, all, prompt.length, generated.length);
        String text = tokenizer.decode(all);
        return text.startsWith(before) ? text.substring(before.length()) : tokenizer.decode(generated);
    }

    /** Prints what was held back and ends the line. */
    void finish() {
        String text = decode();
        if (text.length() > printed) {
            out.print(text.substring(printed));
        }
        out.println();
        out.flush();
    }
}

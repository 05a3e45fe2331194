package io.peft4j.cli;

import io.peft4j.core.text.TextTokenizer;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints generated text as tokens arrive. Decoding tokens one by one loses what depends on their
 * neighbours (SentencePiece's leading spaces, byte-fallback characters split over several tokens),
 * so, as transformers' {@code TextStreamer}, it decodes everything generated so far and prints what is
 * new, holding back while the text ends in an incomplete character.
 */
final class TextStreamer {
    private static final char REPLACEMENT = '\uFFFD';

    private final TextTokenizer tokenizer;
    private final PrintWriter out;
    private final List<Long> ids = new ArrayList<>();
    private int printed;

    TextStreamer(TextTokenizer tokenizer, PrintWriter out) {
        this.tokenizer = tokenizer;
        this.out = out;
    }

    void accept(long id) {
        ids.add(id);
        String text = tokenizer.decode(ids.stream().mapToLong(Long::longValue).toArray());
        if (text.length() > printed && text.charAt(text.length() - 1) != REPLACEMENT) {
            out.print(text.substring(printed));
            out.flush();
            printed = text.length();
        }
    }

    /** Prints what was held back and ends the line. */
    void finish() {
        String text = tokenizer.decode(ids.stream().mapToLong(Long::longValue).toArray());
        if (text.length() > printed) {
            out.print(text.substring(printed));
        }
        out.println();
        out.flush();
    }
}

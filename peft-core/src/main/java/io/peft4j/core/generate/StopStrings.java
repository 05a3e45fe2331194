package io.peft4j.core.generate;

import io.peft4j.core.text.TextTokenizer;

import java.util.List;

/**
 * transformers' {@code stop_strings}: a sequence stops once the text of its generated tokens contains
 * one of them (the stop string itself stays in the output, as transformers keeps it). Needs the
 * tokenizer that decodes the tokens.
 */
final class StopStrings {
    private final List<String> strings;
    private final TextTokenizer tokenizer;

    StopStrings(List<String> strings, TextTokenizer tokenizer) {
        if (!strings.isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop_strings " + strings + " need a tokenizer to decode the generated "
                    + "tokens; give one with Generator.Builder.tokenizer");
        }
        this.strings = strings;
        this.tokenizer = tokenizer;
    }

    boolean endsGeneration(List<Long> generated) {
        if (strings.isEmpty()) {
            return false;
        }
        String text = tokenizer.decode(generated.stream().mapToLong(Long::longValue).toArray());
        for (String s : strings) {
            if (text.contains(s)) {
                return true;
            }
        }
        return false;
    }
}

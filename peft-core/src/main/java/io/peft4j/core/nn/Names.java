package io.peft4j.core.nn;

import org.apache.commons.text.similarity.LevenshteinDistance;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/** Suggestions for a mistyped module or parameter name. */
public final class Names {
    private Names() {}

    /** The {@code n} names nearest to {@code wanted} by edit distance of their last components, then of the whole. */
    public static List<String> closest(String wanted, Collection<String> names, int n) {
        LevenshteinDistance d = LevenshteinDistance.getDefaultInstance();
        String wantedLast = last(wanted);
        return names.stream()
                .filter(s -> !s.isEmpty())
                .sorted(Comparator.<String>comparingInt(s -> d.apply(wantedLast, last(s)))
                        .thenComparingInt(s -> d.apply(wanted, s))
                        .thenComparing(Comparator.naturalOrder()))
                .limit(n)
                .collect(Collectors.toList());
    }

    private static String last(String dotted) {
        int i = dotted.lastIndexOf('.');
        return i < 0 ? dotted : dotted.substring(i + 1);
    }
}

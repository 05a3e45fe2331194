package io.peft4j.core.data;

import java.nio.file.Path;
import java.util.Locale;

/** The file formats the data readers take: one JSON object per line, or a table with a header row. */
public enum DataFormat {
    /** One JSON object per line ({@code .jsonl}, {@code .ndjson}); blank lines are skipped. */
    JSONL,
    /** Comma-separated with a header row ({@code .csv}), RFC 4180 quoting. */
    CSV,
    /** Tab-separated with a header row ({@code .tsv}, {@code .tab}). */
    TSV;

    /** The format a file's extension names; another extension is an error naming the file and the known ones. */
    public static DataFormat of(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return JSONL;
        }
        if (name.endsWith(".csv")) {
            return CSV;
        }
        if (name.endsWith(".tsv") || name.endsWith(".tab")) {
            return TSV;
        }
        throw new IllegalArgumentException(file + ": unknown data file extension; expected .jsonl, .ndjson, .csv, .tsv or .tab"
                + " (or name the format explicitly)");
    }
}

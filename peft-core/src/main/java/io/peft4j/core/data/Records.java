package io.peft4j.core.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads the records of a JSONL, CSV or TSV file (Jackson for both), keeping each record's line number. */
public final class Records {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Records() {}

    /** All records of a file, in the format its extension names. */
    public static List<Record> read(Path file) throws IOException {
        return read(file, DataFormat.of(file));
    }

    public static List<Record> read(Path file, DataFormat format) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString(), format);
        }
    }

    /** @param source the name errors give the data (a file name or resource path) */
    public static List<Record> read(InputStream in, String source, DataFormat format) throws IOException {
        Reader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        return format == DataFormat.JSONL ? jsonl((BufferedReader) reader, source) : table(reader, source, format);
    }

    private static List<Record> jsonl(BufferedReader r, String source) throws IOException {
        List<Record> out = new ArrayList<>();
        String s;
        long line = 0;
        while ((s = r.readLine()) != null) {
            line++;
            if (s.isBlank()) {
                continue;
            }
            JsonNode n;
            try {
                n = JSON.readTree(s);
            } catch (JsonProcessingException e) {
                throw new DataFormatException(source + " line " + line + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (!n.isObject()) {
                throw new DataFormatException(source + " line " + line + ": expected a JSON object, got "
                        + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            out.add(new Record(source, line, n, false));
        }
        return out;
    }

    private static List<Record> table(Reader r, String source, DataFormat format) throws IOException {
        CsvMapper csv = new CsvMapper();
        CsvSchema schema = CsvSchema.emptySchema().withHeader()
                .withColumnSeparator(format == DataFormat.TSV ? '\t' : ',');
        List<Record> out = new ArrayList<>();
        try (MappingIterator<Map<String, String>> rows = csv.readerForMapOf(String.class).with(schema).readValues(r)) {
            while (true) {
                long line;
                Map<String, String> row;
                try {
                    if (!rows.hasNextValue()) {
                        break;
                    }
                    // Jackson's CSV parser places a row's START_OBJECT at the end of the line before it.
                    line = rows.getParser().currentTokenLocation().getLineNr() + 1;
                    row = rows.nextValue();
                } catch (JsonProcessingException e) {
                    long at = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
                    throw new DataFormatException(source + " line " + at + ": " + e.getOriginalMessage(), e);
                }
                ObjectNode n = JSON.createObjectNode();
                row.forEach(n::put);
                out.add(new Record(source, line, n, true));
            }
        }
        return out;
    }
}

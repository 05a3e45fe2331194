package io.peft4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One example of a data file: its fields (a JSON object; a table row is an object of strings) and
 * where it came from, so that every error names the file, the line and the field.
 */
public final class Record {
    private final String source;
    private final long line;
    private final JsonNode fields;
    private final boolean tableRow;

    /** @param tableRow a CSV/TSV row, where an empty cell means no value */
    Record(String source, long line, JsonNode fields, boolean tableRow) {
        this.source = source;
        this.line = line;
        this.fields = fields;
        this.tableRow = tableRow;
    }

    public String source() {
        return source;
    }

    /** The 1-based line the record starts on. */
    public long line() {
        return line;
    }

    /** Whether the record has the field with a non-null value (an empty table cell counts as absent). */
    public boolean has(String field) {
        JsonNode n = fields.get(field);
        return n != null && !n.isNull() && !(tableRow && n.asText().isEmpty());
    }

    /** A string field; absent, null or of another JSON type is an error naming file, line and field. */
    public String string(String field) throws DataFormatException {
        JsonNode n = require(field);
        if (!n.isTextual()) {
            throw error("field '" + field + "' must be a string, got " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        return n.asText();
    }

    /** A string, number or boolean field as text (a class label may be any of them). */
    public String scalar(String field) throws DataFormatException {
        JsonNode n = require(field);
        if (!n.isValueNode()) {
            throw error("field '" + field + "' must be a string, number or boolean, got "
                    + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        return n.asText();
    }

    /** A field of any JSON type (e.g. an array of chat messages). */
    public JsonNode node(String field) throws DataFormatException {
        return require(field);
    }

    private JsonNode require(String field) throws DataFormatException {
        if (!has(field)) {
            throw error("missing field '" + field + "' (the record has " + names() + ")");
        }
        return fields.get(field);
    }

    private String names() {
        StringBuilder s = new StringBuilder("[");
        fields.fieldNames().forEachRemaining(f -> s.append(s.length() == 1 ? "" : ", ").append(f));
        return s.append(']').toString();
    }

    /** An error about this record: {@code file line N: message}. */
    public DataFormatException error(String message) {
        return new DataFormatException(source + " line " + line + ": " + message);
    }
}

package io.peft4j.core.text;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;

import java.util.Map;

/**
 * transformers' {@code tojson} filter, {@code json.dumps(x, ensure_ascii=False, indent=indent)}: Python's
 * spacing ({@code ", "} and {@code ": "}, or one item per line with {@code indent}), non-ASCII text kept.
 * Jinjava's own {@code tojson} writes compact JSON, which would change the text a tool-calling template
 * renders. Written by hand because Jackson's printers have no setting for Python's separators.
 */
final class PythonJsonFilter implements AdvancedFilter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
        StringBuilder out = new StringBuilder();
        write(out, var, indent instanceof Number n ? n.intValue() : -1, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object x, int indent, int depth) {
        if (x == null) {
            out.append("null");
        } else if (x instanceof Boolean || x instanceof Integer || x instanceof Long) {
            out.append(x);
        } else if (x instanceof Number n) {
            double d = n.doubleValue();
            out.append(d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e16 ? Long.toString((long) d) + ".0"
                    : Double.toString(d));
        } else if (x instanceof Map<?, ?> map) {
            container(out, '{', '}', map.entrySet(), indent, depth, (o, e) -> {
                string(o, String.valueOf(e.getKey()));
                o.append(": ");
                write(o, e.getValue(), indent, depth + 1);
            });
        } else if (x instanceof Iterable<?> list) {
            container(out, '[', ']', list, indent, depth, (o, item) -> write(o, item, indent, depth + 1));
        } else if (x instanceof Object[] array) {
            container(out, '[', ']', java.util.Arrays.asList(array), indent, depth, (o, item) -> write(o, item, indent, depth + 1));
        } else {
            string(out, x.toString());
        }
    }

    private interface ItemWriter<T> {
        void write(StringBuilder out, T item);
    }

    private static <T> void container(StringBuilder out, char open, char close, Iterable<T> items, int indent, int depth,
            ItemWriter<T> writer) {
        out.append(open);
        boolean first = true;
        for (T item : items) {
            if (!first) {
                out.append(indent >= 0 ? "," : ", ");
            }
            if (indent >= 0) {
                out.append('\n').append(" ".repeat(indent * (depth + 1)));
            }
            writer.write(out, item);
            first = false;
        }
        if (indent >= 0 && !first) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
        out.append(close);
    }

    /** A JSON string as Python writes it with ensure_ascii=False: only quotes, backslashes and controls escaped. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

package io.peft4j.core.text;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Python's {@code str} methods that chat templates call ({@code content.startswith('<think>')},
 * {@code role.title()}, {@code text.split('\n')}): Jinja2 runs them on Python strings, Jinjava looks for Java
 * methods of those names and finds none (or, for {@code split}, Java's regex one). Resolved before Jinjava's own
 * resolver, for strings only.
 */
final class PythonStringMethods extends ELResolver {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), args);
        if (result != null) {
            context.setPropertyResolved(true);
        }
        return result;
    }

    private static Object call(String s, String name, Object[] args) {
        switch (name) {
            case "strip":
                return rstrip(lstrip(s, chars(args)), chars(args));
            case "lstrip":
                return lstrip(s, chars(args));
            case "rstrip":
                return rstrip(s, chars(args));
            case "startswith":
                return args.length == 1 && args[0] != null && s.startsWith(args[0].toString());
            case "endswith":
                return args.length == 1 && args[0] != null && s.endsWith(args[0].toString());
            case "upper":
                return args.length == 0 ? s.toUpperCase(Locale.ROOT) : null;
            case "lower":
                return args.length == 0 ? s.toLowerCase(Locale.ROOT) : null;
            case "title":
                return args.length == 0 ? title(s) : null;
            case "capitalize":
                return args.length == 0 && !s.isEmpty()
                        ? s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT) : null;
            case "split":
                return split(s, args);
            default:
                return null;
        }
    }

    /** The characters to strip: Python's default (whitespace) when none or None is given. */
    private static String chars(Object[] args) {
        return args.length == 0 || args[0] == null ? null : args[0].toString();
    }

    private static boolean strips(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strips(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    /** Python's {@code str.title()}: a letter after a non-letter is upper case, every other letter lower case. */
    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousLetter = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(previousLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousLetter = Character.isLetter(c);
        }
        return out.toString();
    }

    /** Python's {@code str.split(sep=None, maxsplit=-1)}: a literal separator, or runs of whitespace. */
    private static List<String> split(String s, Object[] args) {
        String sep = args.length == 0 || args[0] == null ? null : args[0].toString();
        int max = args.length > 1 && args[1] instanceof Number n ? n.intValue() : -1;
        List<String> out = new ArrayList<>();
        if (sep == null) {
            String rest = s.strip();
            while (!rest.isEmpty()) {
                String[] parts = WHITESPACE.split(rest, 2);
                if (max >= 0 && out.size() == max) {
                    out.add(rest);
                    break;
                }
                out.add(parts[0]);
                rest = parts.length > 1 ? parts[1] : "";
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("split(): empty separator");
        }
        int from = 0;
        int at;
        while ((max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // Strings are immutable; other resolvers handle assignments.
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return Collections.emptyIterator();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}

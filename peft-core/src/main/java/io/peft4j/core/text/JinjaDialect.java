package io.peft4j.core.text;

import com.hubspot.jinjava.interpret.Context;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where Jinjava reads a chat template differently from Jinja2, found on real templates (ChatTemplateTest):
 * each difference is either rewritten into what Jinjava reads as Jinja2 means it, or refused with an error
 * naming the construct, so that no template silently renders something other than what transformers renders.
 */
final class JinjaDialect {
    /** A {@code {{ ... }}} or {@code {% ... %}} tag: the rewrites apply inside tags only, never to template text. */
    private static final Pattern TAG = Pattern.compile("\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);
    /**
     * {@code not x is defined}: Jinja2 binds the test first ({@code not (x is defined)}); Jinjava negates
     * {@code x} first and then tests the boolean, which is always defined (deepseek-coder's template).
     */
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*])*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*(?:\\s*\\([^()]*\\))?)"
            // Only where the test ends the operand (a test with a space-separated argument is left alone).
            + "(?=\\s*(?:-?%}|-?}}|\\)|]|,|\\band\\b|\\bor\\b|\\belse\\b|\\bif\\b))");
    /**
     * transformers always passes {@code tools} and {@code documents} (None when absent), so Jinja2 says they are
     * defined; Jinjava holds no variable for a null and says they are not.
     */
    private static final Pattern ALWAYS_DEFINED = Pattern.compile("\\b(?:tools|documents)\\s+is\\s+(not\\s+)?defined\\b");
    /** A filter application {@code | name}; string literals are removed before this is searched. */
    private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_]\\w*)");
    private static final Pattern STRING = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"");

    private JinjaDialect() {
    }

    /** The template with Jinja2's meaning spelt the way Jinjava reads it. */
    static String adapt(String template) {
        Matcher tag = TAG.matcher(template);
        StringBuilder out = new StringBuilder();
        while (tag.find()) {
            String rewritten = NOT_IS.matcher(tag.group()).replaceAll("not ($1 is $2$3)");
            rewritten = ALWAYS_DEFINED.matcher(rewritten).replaceAll(m -> m.group(1) == null ? "true" : "false");
            tag.appendReplacement(out, Matcher.quoteReplacement(rewritten));
        }
        tag.appendTail(out);
        return out.toString();
    }

    /**
     * Jinja2 refuses a template that uses an unknown filter when it compiles it; Jinjava prints the value
     * unfiltered. Refusing here keeps a template that needs a filter Jinjava lacks from rendering wrongly.
     */
    static void checkFilters(String template, Context context) {
        Matcher tag = TAG.matcher(template);
        while (tag.find()) {
            Matcher filter = FILTER.matcher(STRING.matcher(tag.group()).replaceAll("''"));
            while (filter.find()) {
                String name = filter.group(1);
                if (context.getFilter(name) == null) {
                    throw new ChatTemplateException("The chat template uses the filter '" + name + "', which peft4j's "
                            + "Jinja engine (Jinjava) does not have: in " + tag.group(), null);
                }
            }
        }
    }
}

package io.peft4j.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;

import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELResolver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's chat template ({@code tokenizer_config.json}'s {@code chat_template}, or the
 * {@code chat_template.jinja} file newer transformers versions write beside it), rendered as transformers'
 * {@code apply_chat_template(tokenize=False)} does: Jinja2 with {@code trim_blocks} and {@code lstrip_blocks},
 * the variables {@code messages}, {@code add_generation_prompt}, the tokenizer's special tokens
 * ({@code bos_token}, {@code eos_token}, {@code unk_token}, {@code pad_token}, {@code additional_special_tokens})
 * and the functions {@code raise_exception} and {@code strftime_now}; {@code tools} and {@code documents} are
 * absent. Jinja2 itself is Python, so the templates run on HubSpot's Jinjava; the templates verified to render
 * byte for byte as Jinja2 does are listed in docs/tasks.md (ChatTemplateTest holds the cases).
 * <p>
 * Message contents are data: template syntax inside them is printed, never evaluated.
 */
public final class ChatTemplate {
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    public static final String TEMPLATE_FILE = "chat_template.jinja";
    private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "unk_token", "pad_token",
            "sep_token", "cls_token", "mask_token");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String template;
    private final String source;
    private final Map<String, Object> specialTokens;
    /** One engine for all templates: building one costs about 0.1 s, and rendering does not change it. */
    private static final Jinjava JINJAVA = newJinjava();

    private ChatTemplate(String template, Map<String, Object> specialTokens) {
        this.template = template;
        String text = template.endsWith("\n") ? template.substring(0, template.length() - 1) : template;
        this.source = JinjaDialect.adapt(text);
        this.specialTokens = Map.copyOf(specialTokens);
        JinjaDialect.checkFilters(source, JINJAVA.getGlobalContext());
    }

    /**
     * A template text with the special tokens it may use ({@code bos_token} → {@code "<s>"}, ...; a value is a
     * string, or a list of strings for {@code additional_special_tokens}).
     */
    public static ChatTemplate of(String template, Map<String, ?> specialTokens) {
        if (template == null || template.isBlank()) {
            throw new IllegalArgumentException("A chat template needs a non-empty template text");
        }
        return new ChatTemplate(template, new LinkedHashMap<>(specialTokens));
    }

    /**
     * The chat template of a transformers model directory: {@code chat_template.jinja} if present, else
     * {@code tokenizer_config.json}'s {@code chat_template}; empty when the model has none (a base model).
     */
    public static Optional<ChatTemplate> fromModelDirectory(Path dir) throws IOException {
        Path config = dir.resolve(TOKENIZER_CONFIG);
        Path jinjaFile = dir.resolve(TEMPLATE_FILE);
        JsonNode json = Files.isRegularFile(config) ? readJson(config) : JSON.createObjectNode();
        if (Files.isRegularFile(jinjaFile)) {
            return Optional.of(new ChatTemplate(Files.readString(jinjaFile, StandardCharsets.UTF_8), specialTokens(json)));
        }
        return Files.isRegularFile(config) ? fromTokenizerConfig(config) : Optional.empty();
    }

    /** The chat template of a {@code tokenizer_config.json}; empty when it has none. */
    public static Optional<ChatTemplate> fromTokenizerConfig(Path tokenizerConfig) throws IOException {
        JsonNode json = readJson(tokenizerConfig);
        JsonNode t = json.path("chat_template");
        if (t.isMissingNode() || t.isNull()) {
            return Optional.empty();
        }
        String text;
        if (t.isTextual()) {
            text = t.asText();
        } else if (t.isArray()) {
            // Several named templates (transformers: [{"name": "default", "template": ...}, {"name": "tool_use", ...}]).
            text = null;
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    text = named.get("template").asText();
                }
            }
            if (text == null) {
                throw new IOException(tokenizerConfig + ": field 'chat_template' is a list of named templates without "
                        + "one named 'default'");
            }
        } else {
            throw new IOException(tokenizerConfig + ": field 'chat_template' must be a string or a list of "
                    + "{\"name\", \"template\"}, got " + t.getNodeType());
        }
        if (text.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new ChatTemplate(text, specialTokens(json)));
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    /** tokenizer_config.json's special tokens: a string, or an AddedToken object whose {@code content} is the text. */
    private static Map<String, Object> specialTokens(JsonNode json) {
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String name : SPECIAL_TOKENS) {
            String text = tokenText(json.path(name));
            if (text != null) {
                tokens.put(name, text);
            }
        }
        JsonNode extra = json.path("additional_special_tokens");
        if (extra.isArray()) {
            List<String> list = new ArrayList<>();
            extra.forEach(n -> {
                String text = tokenText(n);
                if (text != null) {
                    list.add(text);
                }
            });
            tokens.put("additional_special_tokens", list);
        }
        return tokens;
    }

    private static String tokenText(JsonNode n) {
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    public String template() {
        return template;
    }

    /** A special token's text ({@code "bos_token"}, {@code "eos_token"}, ...), if the tokenizer names one. */
    public Optional<String> specialToken(String name) {
        Object v = specialTokens.get(name);
        return v instanceof String s ? Optional.of(s) : Optional.empty();
    }

    /**
     * The conversation as text, as {@code tokenizer.apply_chat_template(messages, tokenize=False,
     * add_generation_prompt=...)} gives it.
     *
     * @throws ChatTemplateException when the template raises an exception (e.g. roles that do not alternate) or
     *     cannot be rendered; its message names the construct
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (ChatMessage m : messages) {
            list.add(m.asMap());
        }
        Map<String, Object> bindings = new HashMap<>(specialTokens);
        bindings.put("messages", list);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = JINJAVA.renderForResult(source, bindings);
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(e);
            }
        }
        return result.getOutput();
    }

    private static ChatTemplateException failure(TemplateError e) {
        Throwable cause = e.getException();
        while (cause != null) {
            if (cause instanceof RaisedException raised) {
                return new ChatTemplateException(raised.getMessage(), null);
            }
            cause = cause.getCause();
        }
        return new ChatTemplateException("The chat template cannot be rendered: " + e.getMessage()
                + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""), e.getException());
    }

    private static Jinjava newJinjava() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Jinja2's behaviour where Jinjava kept HubSpot's old one: operator precedence, whitespace
                // control, backslashes in string literals, Python-style output of lists and dicts.
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                // Jinja2 drops one newline at the end of the template text (keep_trailing_newline=False), which
                // render() does itself; Jinjava's own option would drop it from the output instead.
                .withKeepTrailingNewline(true)
                // A message holding "{{ ... }}" is text: never render the output a second time.
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver())
                .build();
        Jinjava j = new Jinjava(config);
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class,
                "strftimeNow", String.class));
        j.getGlobalContext().registerFilter(new PythonJsonFilter());
        return j;
    }

    /** Jinjava's read-only resolver with Python's string methods in front. */
    private static ELResolver resolver() {
        CompositeELResolver r = new CompositeELResolver();
        r.add(new PythonStringMethods());
        r.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
    }

    /** transformers' {@code raise_exception(message)}: the template refuses the conversation. */
    public static Object raiseException(String message) {
        throw new RaisedException(message);
    }

    /** transformers' {@code strftime_now(format)}: the current local time in Python's strftime format. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format);
    }

    /** What {@code raise_exception} throws inside Jinjava, recognised among the render errors. */
    private static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message, null, false, false);
        }
    }
}

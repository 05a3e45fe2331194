package io.peft4j.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Real chat templates (chat-templates/README.md names each model), and small templates for the constructs
 * real ones use beyond those (Python string methods, tojson, loop controls, namespace, tests on absent tools), rendered for a few conversations and
 * compared byte for byte with what Python's Jinja2 3.1 rendered in transformers' environment
 * (peft-core/src/test/python/make_chat_templates.py wrote expected.json); the errors a template raises
 * must carry the same message.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path fixtures() {
        try {
            return Path.of(ChatTemplateTest.class.getResource("/chat-templates/expected.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static ChatTemplate template(String name) throws Exception {
        return ChatTemplate.fromTokenizerConfig(fixtures().resolve(name + ".tokenizer_config.json")).orElseThrow();
    }

    private static List<ChatMessage> messages(JsonNode list) {
        List<ChatMessage> out = new ArrayList<>();
        list.forEach(m -> out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText())));
        return out;
    }

    @TestFactory
    List<DynamicTest> rendersAsJinja2() throws Exception {
        JsonNode expected = JSON.readTree(fixtures().resolve("expected.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : expected.get("cases")) {
            boolean construct = c.has("construct");
            String name = (construct ? "construct " + c.get("construct").asText() : c.get("template").asText())
                    + " / " + c.get("conversation").asText()
                    + (c.get("add_generation_prompt").asBoolean() ? " + generation prompt" : "");
            tests.add(DynamicTest.dynamicTest(name, () -> {
                ChatTemplate t = construct
                        ? ChatTemplate.of(c.get("template_text").asText(), JSON.convertValue(c.get("special_tokens"), Map.class))
                        : template(c.get("template").asText());
                List<ChatMessage> m = messages(expected.get("conversations").get(c.get("conversation").asText()));
                boolean prompt = c.get("add_generation_prompt").asBoolean();
                if (c.has("error")) {
                    ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(m, prompt));
                    assertEquals(c.get("error").asText(), e.getMessage());
                } else {
                    assertEquals(c.get("text").asText(), t.render(m, prompt));
                }
            }));
        }
        return tests;
    }

    @Test
    void specialTokensComeFromStringsAndAddedTokenObjects() throws Exception {
        assertEquals(Optional.of("<s>"), template("llama2-chat").specialToken("bos_token"));
        assertEquals(Optional.of("<|im_end|>"), template("qwen2").specialToken("eos_token"));
        assertEquals(Optional.empty(), template("qwen2").specialToken("bos_token"));
    }

    @Test
    void aDirectoryWithoutTemplateHasNoneAndChatTemplateJinjaWins(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        assertTrue(ChatTemplate.fromModelDirectory(dir).isEmpty());
        Files.writeString(dir.resolve("chat_template.jinja"), "{% for m in messages %}{{ m.content + eos_token }}{% endfor %}");
        ChatTemplate t = ChatTemplate.fromModelDirectory(dir).orElseThrow();
        assertEquals("hi</s>", t.render(List.of(ChatMessage.user("hi")), false));
    }

    @Test
    void aListOfNamedTemplatesUsesTheDefaultOne(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
                + " {\"name\": \"default\", \"template\": \"D{{ messages | length }}\"}]}");
        assertEquals("D1", ChatTemplate.fromTokenizerConfig(config).orElseThrow()
                .render(List.of(ChatMessage.user("x")), false));
        Files.writeString(config, "{\"chat_template\": 3}");
        Exception e = assertThrows(java.io.IOException.class, () -> ChatTemplate.fromTokenizerConfig(config));
        assertTrue(e.getMessage().contains("'chat_template'"), e.getMessage());
    }

    @Test
    void aTemplateThatCannotRenderFailsNamingTheProblem() {
        // Jinja2 refuses an unknown filter when it compiles the template; so does ChatTemplate, naming it.
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(
                "{% for m in messages %}{{ m.content | no_such_filter }}{% endfor %}", Map.of()));
        assertTrue(e.getMessage().contains("'no_such_filter'"), e.getMessage());
        // A '|' inside a string literal is text, not a filter.
        ChatTemplate t = ChatTemplate.of("{{ 'a | b' | trim }}", Map.of());
        assertEquals("a | b", t.render(List.of(), false));
        // A broken tag is a syntax error naming the problem.
        ChatTemplate broken = ChatTemplate.of("{% for m in messages %}{{ m.content }}", Map.of());
        ChatTemplateException syntax = assertThrows(ChatTemplateException.class,
                () -> broken.render(List.of(ChatMessage.user("x")), false));
        assertTrue(syntax.getMessage().startsWith("The chat template cannot be rendered"), syntax.getMessage());
    }
}

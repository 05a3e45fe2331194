package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.data.Record;
import io.peft4j.core.data.Records;
import io.peft4j.core.text.ChatMessage;
import io.peft4j.core.text.ChatTemplate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The prompts of {@code peft4j generate}: {@code --prompt} texts and a {@code --prompts-file}, either JSONL
 * ({@code {"prompt": "..."}} or {@code {"messages": [...]}} per line) or plain text (one prompt per
 * non-blank line). Each becomes the text the model continues: as given, or, for messages and with
 * {@code --chat}, the chat template's rendering with the generation prompt (as
 * {@code apply_chat_template(add_generation_prompt=True)}).
 */
final class Prompts {
    /** A prompt: plain text, or a conversation for the chat template. */
    record Prompt(String text, List<ChatMessage> messages) {
        /** The text to continue and whether it was rendered by the chat template (which writes its own BOS). */
        String render(ChatTemplate template, boolean chat) {
            if (messages == null && !chat) {
                return text;
            }
            List<ChatMessage> conversation = messages != null ? messages : List.of(ChatMessage.user(text));
            return template.render(conversation, true);
        }
    }

    private Prompts() {
    }

    static List<Prompt> read(List<String> texts, Path file) throws IOException {
        List<Prompt> out = new ArrayList<>();
        if (texts != null) {
            texts.forEach(t -> out.add(new Prompt(t, null)));
        }
        if (file == null) {
            return out;
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException("--prompts-file " + file + ": no such file");
        }
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".jsonl")) {
            for (Record r : Records.read(file)) {
                out.add(jsonl(r));
            }
        } else {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(new Prompt(line, null));
                }
            }
        }
        return out;
    }

    private static Prompt jsonl(Record r) throws IOException {
        if (r.has("prompt")) {
            return new Prompt(r.string("prompt"), null);
        }
        if (!r.has("messages")) {
            throw r.error("expected a 'prompt' string or a 'messages' list");
        }
        JsonNode list = r.node("messages");
        if (!list.isArray() || list.isEmpty()) {
            throw r.error("field 'messages' must be a non-empty list of {\"role\", \"content\"} objects");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw r.error("field 'messages[" + i + "]' must be an object with string 'role' and 'content'");
            }
            messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        return new Prompt(null, messages);
    }
}

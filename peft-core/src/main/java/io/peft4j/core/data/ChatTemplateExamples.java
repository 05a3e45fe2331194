package io.peft4j.core.data;

import io.peft4j.core.text.ChatMessage;
import io.peft4j.core.text.ChatTemplate;
import io.peft4j.core.text.ChatTemplateException;
import io.peft4j.core.text.TextTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A conversation rendered with the model's chat template and tokenized as one text (as
 * {@code apply_chat_template(tokenize=True)} does: no special tokens added, the template writes them).
 * <p>
 * The assistant's tokens are found by rendering prefixes, as TRL does for templates without
 * {@code {% generation %}} markers: assistant message {@code i} spans from the end of
 * {@code render(messages[:i], add_generation_prompt=True)} to the end of {@code render(messages[:i+1])},
 * so the span holds the reply and what the template closes it with (e.g. {@code <|im_end|>}, {@code </s>})
 * but not the assistant header. A token is trained when it starts inside such a span. A template that
 * does not render a conversation's prefixes as prefixes of the whole (so the spans cannot be located) is an
 * error naming the message.
 */
final class ChatTemplateExamples {
    private final ChatTemplate template;
    private final TextTokenizer tokenizer;

    ChatTemplateExamples(ChatTemplate template, TextTokenizer tokenizer) {
        this.template = template;
        this.tokenizer = tokenizer;
    }

    TokenizedExample encode(Record r, List<ChatMessage> messages, boolean assistantOnly) throws DataFormatException {
        String full = render(r, messages, false);
        List<int[]> spans = new ArrayList<>();
        if (assistantOnly) {
            for (int i = 0; i < messages.size(); i++) {
                if (!messages.get(i).role().equals("assistant")) {
                    continue;
                }
                String before = i == 0 ? "" : render(r, messages.subList(0, i), true);
                String through = render(r, messages.subList(0, i + 1), false);
                if (!through.startsWith(before) || !full.startsWith(through)) {
                    throw r.error("the chat template does not render the conversation up to messages[" + i + "] as a "
                            + "prefix of the whole conversation, so the assistant's tokens cannot be located; train "
                            + "on every token instead (completion-only loss off)");
                }
                spans.add(new int[] {before.length(), through.length()});
            }
        }
        TextTokenizer.TokenSpans tokens = tokenizer.tokenSpans(full);
        boolean[] trained = new boolean[tokens.ids().length];
        for (int k = 0; k < trained.length; k++) {
            trained[k] = !assistantOnly || inside(tokens.start()[k], spans);
        }
        return new TokenizedExample(tokens.ids(), trained);
    }

    private static boolean inside(int start, List<int[]> spans) {
        for (int[] s : spans) {
            if (start >= s[0] && start < s[1]) {
                return true;
            }
        }
        return false;
    }

    private String render(Record r, List<ChatMessage> messages, boolean addGenerationPrompt) throws DataFormatException {
        try {
            return template.render(messages, addGenerationPrompt);
        } catch (ChatTemplateException e) {
            throw r.error("the model's chat template refuses field 'messages': " + e.getMessage());
        }
    }
}

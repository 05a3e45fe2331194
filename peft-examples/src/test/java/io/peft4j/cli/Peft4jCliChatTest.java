package io.peft4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The data and prompt options of {@code train} and {@code generate} on the real stories260K Llama: expected
 * continuations come from its {@code expected.json} (transformers' greedy generation), expected step counts from
 * the options' arithmetic, the chat-rendered prompt from the template's definition.
 */
class Peft4jCliChatTest {
    /** Zephyr's / TinyLlama-chat's template (peft-core's chat-templates fixtures); stories260K has none of its own. */
    private static final String ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
            + "{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
            + "{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
            + "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
            + "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    private record Result(int code, String out, String err) { }

    private static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Peft4jCli.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static String model() {
        return Stories260K.dir().toString();
    }

    /** stories260K with a chat template beside its tokenizer_config.json. */
    private static Path chatModel(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("stories-chat"));
        try (var files = Files.list(Stories260K.dir())) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        Files.writeString(dir.resolve("chat_template.jinja"), ZEPHYR);
        return dir;
    }

    private static List<String> history(Path out) throws Exception {
        return Files.readAllLines(out.resolve("history.csv"));
    }

    @Test
    void maxStepsWithPackingRunsExactlyThatManySteps(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("d.jsonl"), String.join("\n",
                "{\"text\": \"Once upon a time there was a cat named Tom.\"}",
                "{\"text\": \"Tom liked to play with his red ball in the park.\"}",
                "{\"prompt\": \"One day\", \"completion\": \" Tom saw a big dog.\"}") + "\n");
        Path out = tmp.resolve("adapter");
        Result r = cli("train", "--model", model(), "--data", data.toString(), "--method", "lora", "--r", "2",
                "--packing", "--max-seq-length", "16", "--max-steps", "3", "--batch-size", "2",
                "--no-completion-only", "--padding-side", "left", "--lr", "1e-3", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        // A header and one line per step: --max-steps overrides the one epoch the packed rows would give.
        assertEquals(4, history(out).size(), String.join("\n", history(out)));
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
    }

    @Test
    void chatNeedsATemplateAndTrainsOnMessagesWithOne(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("chat.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about Tom.\"},"
                        + " {\"role\": \"assistant\", \"content\": \"Tom is a cat.\"}]}\n");
        Result none = cli("train", "--model", model(), "--data", data.toString(), "--method", "lora", "--chat",
                "--output", tmp.resolve("x").toString());
        assertEquals(2, none.code());
        assertTrue(none.err().contains("has no chat template"), none.err());

        Path out = tmp.resolve("adapter");
        Result r = cli("train", "--model", chatModel(tmp).toString(), "--data", data.toString(), "--method", "lora",
                "--r", "2", "--chat", "--max-steps", "1", "--batch-size", "1", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(2, history(out).size());

        Result side = cli("train", "--model", model(), "--data", data.toString(), "--method", "lora",
                "--padding-side", "middle", "--output", tmp.resolve("y").toString());
        assertEquals(2, side.code());
        assertTrue(side.err().contains("--padding-side") && side.err().contains("'middle'"), side.err());
    }

    @Test
    void severalPromptsRunAsOneLeftPaddedBatch(@TempDir Path tmp) throws Exception {
        JsonNode prompts = Stories260K.expected().get("prompts");
        String a = prompts.get(0).get("text").asText();
        String b = prompts.get(1).get("text").asText();
        Result r = cli("generate", "--model", model(), "--prompt", a, "--prompt", b, "--max-new-tokens", "10");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split(System.lineSeparator(), -1);
        assertEquals("=== 1 ===", lines[0]);
        assertEquals("=== 2 ===", lines[2]);
        // Each continuation is the start of transformers' greedy continuation of that prompt alone.
        for (int i = 0; i < 2; i++) {
            String got = lines[2 * i + 1];
            String want = prompts.get(i).get("greedy").get("text").asText();
            assertTrue(got.length() > 10 && want.startsWith(got), "prompt " + i + ": " + got);
        }
        Path text = Files.writeString(tmp.resolve("prompts.txt"), a + "\n\n" + b + "\n");
        Result fromFile = cli("generate", "--model", model(), "--prompts-file", text.toString(), "--max-new-tokens", "10");
        assertEquals(r.out(), fromFile.out());
        Path jsonl = Files.writeString(tmp.resolve("prompts.jsonl"),
                "{\"prompt\": " + prompts.get(0).get("text") + "}\n");
        Result mixed = cli("generate", "--model", model(), "--prompts-file", jsonl.toString(), "--prompt", b,
                "--max-new-tokens", "10");
        String n = System.lineSeparator();
        assertEquals("=== 1 ===" + n + lines[3] + n + "=== 2 ===" + n + lines[1] + n, mixed.out(),
                "--prompt first, then the file's prompts");
        assertEquals(2, cli("generate", "--model", model()).code(), "no prompt at all");
    }

    @Test
    void chatWrapsThePromptInTheTemplate(@TempDir Path tmp) throws Exception {
        Path dir = chatModel(tmp);
        Result r = cli("generate", "--model", dir.toString(), "--chat", "--prompt", "Tell me a story.",
                "--max-new-tokens", "8");
        assertEquals(0, r.code(), r.err());
        // The template's text for one user turn with the generation prompt, written out by hand; the template
        // writes </s> itself and no BOS, and nothing is added when it is encoded.
        String rendered = "<|user|>\nTell me a story.</s>\n<|assistant|>\n";
        String want;
        try (TextTokenizer tok = TextTokenizer.fromJson(dir.resolve("tokenizer.json"), 512);
                PeftModel m = ModelFamilies.loadBaseModel(dir, "stories-chat")) {
            long[] ids = tok.tokenIds(rendered);
            long[] out = Generator.builder(m).config(GenerationConfig.fromJson(dir.resolve("generation_config.json"))
                    .toBuilder().maxNewTokens(8).build()).build().generate(new long[][] {ids}).tokens(0);
            want = TextStreamer.continuation(tok, ids, out);
        }
        assertEquals(want + System.lineSeparator(), r.out());
        Result none = cli("generate", "--model", model(), "--chat", "--prompt", "x");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("has no chat template"), none.err());
    }
}

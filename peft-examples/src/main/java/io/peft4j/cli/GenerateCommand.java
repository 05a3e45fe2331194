package io.peft4j.cli;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.Generation;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.text.ChatTemplate;
import io.peft4j.core.text.TextTokenizer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code peft4j generate}: the continuation of one prompt, streamed to stdout as it is chosen, or of several
 * ({@code --prompt} repeated, {@code --prompts-file}) generated as one left-padded batch and printed in order
 * under {@code === i ===} headers. {@code --chat} wraps prompts in the model's chat template. Greedy
 * unless a temperature, top-k, top-p or seed asks for sampling; stops at the model's
 * {@code generation_config.json} eos ids.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate continuations of prompts with a model and, optionally, an adapter; one prompt streams to stdout.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "transformers model directory")
    private Path model;

    @Option(names = "--adapter", paramLabel = "<dir>", description = "adapter directory (HF PEFT format), applied unmerged")
    private Path adapter;

    @Option(names = "--prompt", description = "a text to continue (repeatable: several prompts run as one batch)")
    private List<String> promptTexts;

    @Option(names = "--prompts-file", paramLabel = "<file>",
            description = "more prompts: JSONL ({\"prompt\": ...} or {\"messages\": [...]} per line) or text (one per line)")
    private Path promptsFile;

    @Option(names = "--chat", description = "wrap each --prompt as a user message in the model's chat template, "
            + "with the assistant's generation prompt")
    private boolean chat;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    private int maxNewTokens;

    @Option(names = "--temperature", description = "sampling temperature (turns sampling on)")
    private Float temperature;

    @Option(names = "--top-k", description = "sample from the k most likely tokens (turns sampling on; 0 = off)")
    private Integer topK;

    @Option(names = "--top-p", description = "sample from the smallest set with this probability mass (turns sampling on)")
    private Float topP;

    @Option(names = "--seed", description = "seed of the sampler (turns sampling on)")
    private Long seed;

    @Option(names = "--no-cache", description = "recompute the whole prefix at each step instead of using the key/value cache")
    private boolean noCache;

    @Override
    public Integer call() throws IOException {
        if (maxNewTokens < 1) {
            throw new ParameterException(spec.commandLine(), "--max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        List<Prompts.Prompt> prompts = Prompts.read(promptTexts, promptsFile);
        if (prompts.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give a prompt: --prompt <text> and/or --prompts-file <file>");
        }
        ModelDirectory dir = new ModelDirectory(model, "--model");
        ChatTemplate template = chatTemplate(dir, prompts);
        GenerationConfig config = samplingOptions(dir.generationConfig().toBuilder().maxNewTokens(maxNewTokens)).build();
        PrintWriter out = spec.commandLine().getOut();
        try (TextTokenizer tokenizer = dir.tokenizer(dir.maxTokens());
                PeftModel peftModel = dir.loadModel()) {
            if (adapter != null) {
                Peft.load(peftModel, adapter);
            }
            List<String> texts = new ArrayList<>();
            long[][] ids = new long[prompts.size()][];
            for (int i = 0; i < ids.length; i++) {
                Prompts.Prompt p = prompts.get(i);
                String text = p.render(template, chat);
                texts.add(text);
                // A rendered chat writes its own special tokens (BOS among them), so it is encoded without
                // adding any, as transformers' apply_chat_template(tokenize=True) does.
                boolean rendered = p.messages() != null || chat;
                ids[i] = rendered ? tokenizer.tokenIds(text) : tokenizer.modelInputIds(text);
            }
            Generator.Builder generator = Generator.builder(peftModel).config(config).tokenizer(tokenizer)
                    .useCache(!noCache);
            if (ids.length == 1) {
                TextStreamer streamer = new TextStreamer(tokenizer, out, texts.get(0));
                generator.listener((sequence, id) -> streamer.accept(id)).build().generate(ids);
                streamer.finish();
            } else {
                Generation g = generator.build().generate(ids);
                for (int i = 0; i < ids.length; i++) {
                    out.println("=== " + (i + 1) + " ===");
                    out.println(TextStreamer.continuation(tokenizer, ids[i], g.tokens(i)));
                }
                out.flush();
            }
        }
        return 0;
    }

    private ChatTemplate chatTemplate(ModelDirectory dir, List<Prompts.Prompt> prompts) throws IOException {
        boolean needed = chat || prompts.stream().anyMatch(p -> p.messages() != null);
        if (!needed) {
            return null;
        }
        return dir.tokenizerConfig().chatTemplate().orElseThrow(() -> new ParameterException(spec.commandLine(),
                (chat ? "--chat" : "--prompts-file messages") + ": " + model + " has no chat template (no "
                        + "'chat_template' in tokenizer_config.json and no chat_template.jinja)"));
    }

    /** Any sampling option turns {@code do_sample} on, as a user who gives a temperature means it. */
    private GenerationConfig.Builder samplingOptions(GenerationConfig.Builder b) {
        boolean sample = false;
        if (temperature != null) {
            b.temperature(temperature);
            sample = true;
        }
        if (topK != null) {
            b.topK(topK);
            sample = true;
        }
        if (topP != null) {
            b.topP(topP);
            sample = true;
        }
        if (seed != null) {
            b.seed(seed);
            sample = true;
        }
        return sample ? b.doSample(true) : b;
    }
}

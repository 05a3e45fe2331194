package io.peft4j.cli;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.text.TextTokenizer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code peft4j generate}: the continuation of one prompt, streamed to stdout as it is chosen. Greedy
 * unless a temperature, top-k, top-p or seed asks for sampling; stops at the model's
 * {@code generation_config.json} eos ids.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of a prompt with a model and, optionally, an adapter; tokens stream to stdout.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "transformers model directory")
    private Path model;

    @Option(names = "--adapter", paramLabel = "<dir>", description = "adapter directory (HF PEFT format), applied unmerged")
    private Path adapter;

    @Option(names = "--prompt", required = true, description = "the text to continue")
    private String prompt;

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
        ModelDirectory dir = new ModelDirectory(model, "--model");
        GenerationConfig config = samplingOptions(dir.generationConfig().toBuilder().maxNewTokens(maxNewTokens)).build();
        PrintWriter out = spec.commandLine().getOut();
        try (TextTokenizer tokenizer = dir.tokenizer(dir.maxTokens());
                PeftModel peftModel = dir.loadModel()) {
            if (adapter != null) {
                Peft.load(peftModel, adapter);
            }
            TextStreamer streamer = new TextStreamer(tokenizer, out, prompt);
            Generator.builder(peftModel).config(config).tokenizer(tokenizer).useCache(!noCache)
                    .listener((sequence, id) -> streamer.accept(id))
                    .build()
                    .generate(prompt);
            streamer.finish();
        }
        return 0;
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

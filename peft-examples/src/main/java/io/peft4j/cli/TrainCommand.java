package io.peft4j.cli;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.data.Side;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.text.TokenizerConfig;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.lora.LoraConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code peft4j train}: causal-LM fine-tuning of a transformers directory on a JSONL file
 * ({@code prompt}/{@code completion}, {@code messages} or {@code text} records; see {@link CausalLmData}),
 * loss on completions only unless {@code --no-completion-only}; the model's tokenizer_config.json decides the
 * chat template, BOS/EOS and the padding side unless an option overrides it. The adapter,
 * {@code history.csv} and {@code loss.png} go to the output directory.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Fine-tune a causal LM on a JSONL file and save the adapter in HF PEFT's format.")
final class TrainCommand implements Callable<Integer> {
    enum Method { lora, full, freeze }

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "transformers model directory")
    private Path model;

    @Option(names = "--data", required = true, paramLabel = "<file.jsonl>",
            description = "training examples: {\"prompt\",\"completion\"}, {\"messages\":[...]} or {\"text\"} per line")
    private Path data;

    @Option(names = "--method", required = true, description = "one of: ${COMPLETION-CANDIDATES}")
    private Method method;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    private int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE})")
    private float alpha;

    @Option(names = "--use-dora", description = "LoRA: weight-decomposed LoRA (DoRA)")
    private boolean useDora;

    @Option(names = "--qlora", description = "LoRA: base linear layers quantized to NF4 with double quantization (QLoRA)")
    private boolean qlora;

    @Option(names = "--targets", split = ",", paramLabel = "<module>",
            description = "LoRA: target modules (default: the family's, as HF PEFT's); freeze: modules to train")
    private List<String> targets;

    @Option(names = "--layers", split = ",", paramLabel = "<index>", description = "freeze: decoder layers to train")
    private List<Integer> layers;

    @Option(names = "--epochs", defaultValue = "1", description = "(default: ${DEFAULT-VALUE})")
    private int epochs;

    @Option(names = "--batch-size", defaultValue = "8", description = "(default: ${DEFAULT-VALUE})")
    private int batchSize;

    @Option(names = "--lr", defaultValue = "2e-4", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    private float learningRate;

    @Option(names = {"--max-seq-length", "--max-length"}, defaultValue = "512",
            description = "tokens per example at most, per row with --packing (default: ${DEFAULT-VALUE})")
    private int maxLength;

    @Option(names = "--max-steps", paramLabel = "<steps>",
            description = "train exactly this many optimizer steps, cycling through the data as often as needed "
                    + "(overrides --epochs)")
    private Integer maxSteps;

    @Option(names = "--packing", description = "concatenate the examples, each ending in EOS, into rows of --max-seq-length tokens")
    private boolean packing;

    @Option(names = "--padding-side", paramLabel = "left|right",
            description = "where batches are padded (default: the tokenizer_config.json's, else right)")
    private String paddingSide;

    @Option(names = "--truncation-side", paramLabel = "left|right",
            description = "which end of a too-long example is cut (default: the tokenizer_config.json's, else right)")
    private String truncationSide;

    @Option(names = "--chat", negatable = true,
            description = "render {\"messages\"} records with the model's chat template (the default when it has one; "
                    + "--chat fails without one, --no-chat uses peft4j's simple <|role|> format)")
    private Boolean chat;

    @Option(names = "--completion-only", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "loss on completions and assistant turns only (default: on; --no-completion-only trains every token)")
    private boolean completionOnly;

    @Option(names = "--seed", defaultValue = "42", description = "(default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--output", required = true, paramLabel = "<adapter-dir>", description = "where the adapter and the training history go")
    private Path output;

    @Override
    public Integer call() throws IOException {
        checkOptions();
        ModelDirectory dir = new ModelDirectory(model, "--model");
        if (!Files.isRegularFile(data)) {
            throw new IOException("--data " + data + ": no such file");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (TextTokenizer tokenizer = dir.tokenizer(maxLength);
                PeftModel peftModel = dir.loadModel()) {
            CausalLmData train = examples(dir, tokenizer).read(data);
            if (train.size() == 0) {
                throw new IOException("--data " + data + ": no examples");
            }
            PeftAdapter<PeftConfig> adapter = Peft.wrap(peftModel, peftConfig());
            out.println(peftModel.trainableReport());
            out.flush();
            TrainingConfig config = TrainingConfig.builder()
                    .epochs(maxSteps == null ? epochs : 1).batchSize(batchSize).learningRate(learningRate).seed(seed)
                    .outputDir(output).progressBar(true)
                    .build();
            Batches batches = maxSteps == null ? train : new MaxStepsData(train, maxSteps, batchSize);
            new Trainer(peftModel, new CausalLanguageModeling(), config).fit(batches, null);
            adapter.save(output);
            out.println("adapter saved to " + output);
        }
        return 0;
    }

    /** The examples as the model's tokenizer settings and the options say. */
    private CausalLmData.Builder examples(ModelDirectory dir, TextTokenizer tokenizer) throws IOException {
        TokenizerConfig tokenizerConfig = dir.tokenizerConfig();
        CausalLmData.Builder b = CausalLmData.builder(tokenizer).tokenizerConfig(tokenizerConfig)
                .maxLength(maxLength).packing(packing).maskPrompt(completionOnly);
        if (Boolean.TRUE.equals(chat) && tokenizerConfig.chatTemplate().isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--chat: " + model + " has no chat template (no "
                    + "'chat_template' in tokenizer_config.json and no chat_template.jinja)");
        }
        if (Boolean.FALSE.equals(chat)) {
            b.chatTemplate(null);
        }
        if (paddingSide != null) {
            b.paddingSide(side("--padding-side", paddingSide));
        }
        if (truncationSide != null) {
            b.truncationSide(side("--truncation-side", truncationSide));
        }
        return b;
    }

    private Side side(String option, String value) {
        try {
            return Side.of(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
    }

    private void checkOptions() {
        positive("--epochs", epochs);
        positive("--batch-size", batchSize);
        if (maxLength < 2) {
            throw new ParameterException(spec.commandLine(), "--max-seq-length must be at least 2, got " + maxLength);
        }
        if (maxSteps != null) {
            positive("--max-steps", maxSteps);
        }
        if (method == Method.lora) {
            positive("--r", r);
        }
        if (!(learningRate > 0)) {
            throw new ParameterException(spec.commandLine(), "--lr must be positive, got " + learningRate);
        }
        if (method == Method.freeze && targets == null && layers == null) {
            throw new ParameterException(spec.commandLine(),
                    "--method freeze needs --targets (modules to train) or --layers (decoder layers to train)");
        }
        if (method != Method.lora && (useDora || qlora)) {
            throw new ParameterException(spec.commandLine(), "--use-dora and --qlora apply to --method lora only");
        }
        if (method != Method.freeze && layers != null) {
            throw new ParameterException(spec.commandLine(), "--layers applies to --method freeze only");
        }
    }

    private void positive(String option, int value) {
        if (value < 1) {
            throw new ParameterException(spec.commandLine(), option + " must be at least 1, got " + value);
        }
    }

    private PeftConfig peftConfig() {
        switch (method) {
            case lora: {
                LoraConfig.Builder b = LoraConfig.builder().r(r).loraAlpha(alpha).useDora(useDora).taskType("CAUSAL_LM");
                if (qlora) {
                    b.quantization(QuantizationConfig.nf4());
                }
                if (targets != null) {
                    b.targetModules(targets.toArray(new String[0]));
                }
                return b.build();
            }
            case full:
                return new FullFineTuningConfig();
            case freeze: {
                FreezeConfig.Builder b = FreezeConfig.builder();
                if (targets != null) {
                    b.modulesToTrain(targets.toArray(new String[0]));
                }
                if (layers != null) {
                    b.layersToTrain(layers.toArray(new Integer[0]));
                }
                return b.build();
            }
            default:
                throw new IllegalStateException("method " + method);
        }
    }
}

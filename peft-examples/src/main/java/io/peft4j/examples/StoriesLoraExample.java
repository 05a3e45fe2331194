package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingHistory;
import io.peft4j.lora.LoraConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * LoRA on the real stories260K Llama (Karpathy's llama2.c model trained on TinyStories, shipped in
 * this module's resources with its licence) for the shipped dataset of 320 stories about Pip, a little
 * dragon who loves blue apples ({@code datasets/stories/train.jsonl}, written by
 * {@code src/main/python/make_pip_stories.py}). Prints greedy continuations of three prompts before
 * training, trains r = 8 on every linear layer of the decoder, writes the loss curve, prints the
 * continuations again (Pip appears), saves the adapter in HF PEFT's format, loads it onto a freshly
 * loaded base model and checks that it generates the same text.
 *
 * <p>Argument: a folder to keep the adapter ({@code adapter/}) and the training history
 * ({@code training/loss.png}) in (default: a temporary folder deleted at the end).
 */
public final class StoriesLoraExample {
    static final String MODEL_RESOURCE = "models/stories260K/";
    static final List<String> MODEL_FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "generation_config.json", "special_tokens_map.json");
    static final String DATASET_RESOURCE = "datasets/stories/train.jsonl";
    static final String BASE_NAME = "karpathy/tinyllamas/stories260K";
    static final List<String> PROMPTS = List.of("Once upon a time", "One day, a little", "There was a");
    static final int MAX_TOKENS = 128;
    static final int NEW_TOKENS = 40;
    static final long SEED = 42;

    private StoriesLoraExample() {}

    /** r = 8 on every linear layer of the decoder (the tied output head left out, as HF PEFT's all-linear). */
    static LoraConfig loraConfig() {
        return LoraConfig.builder().r(8).loraAlpha(16)
                .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                .taskType("CAUSAL_LM")
                .build();
    }

    static TrainingConfig.Builder trainingBuilder() {
        return TrainingConfig.builder().epochs(3).batchSize(16).learningRate(1e-2f).warmupRatio(0.1f).seed(SEED);
    }

    /** Greedy, stopping at {@code </s>} (id 2, from generation_config.json) or after {@value #NEW_TOKENS} tokens. */
    static List<String> generate(PeftModel model, TextTokenizer tokenizer) {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(NEW_TOKENS).eosTokenId(2).build();
        return Generator.builder(model).config(config).tokenizer(tokenizer).build().generateTexts(PROMPTS);
    }

    static void print(String title, List<String> continuations) {
        System.out.println(title);
        for (int i = 0; i < PROMPTS.size(); i++) {
            System.out.println("  [" + PROMPTS.get(i) + "]" + continuations.get(i));
        }
    }

    /**
     * Copies the model's files from the classpath to a new temporary folder: the loader reads a
     * transformers directory, and a resource inside a jar has no path.
     */
    static Path extractModel() throws IOException {
        Path dir = Files.createTempDirectory("peft4j-stories260K");
        try {
            for (String f : MODEL_FILES) {
                Files.copy(resource(MODEL_RESOURCE + f), dir.resolve(f));
            }
            return dir;
        } catch (IOException | RuntimeException e) {
            FileTrees.delete(dir);
            throw e;
        }
    }

    static InputStream resource(String name) throws IOException {
        InputStream in = StoriesLoraExample.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " is not on the classpath");
        }
        return in;
    }

    public static void main(String[] args) throws Exception {
        Path modelDir = extractModel();
        try (OutputDir out = OutputDir.of(args, "peft4j-stories-lora");
                TextTokenizer tokenizer = TextTokenizer.fromJson(modelDir.resolve("tokenizer.json"), MAX_TOKENS)) {
            run(modelDir, tokenizer, out);
        } finally {
            FileTrees.delete(modelDir);
        }
    }

    static void run(Path modelDir, TextTokenizer tokenizer, OutputDir out) throws IOException {
        Path adapterDir = out.path().resolve("adapter");
        Path trainingDir = out.path().resolve("training");
        Path dataFile = Files.createTempFile("peft4j-pip-stories", ".jsonl");
        CausalLmData data;
        try (InputStream in = resource(DATASET_RESOURCE)) {
            Files.copy(in, dataFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            data = CausalLmData.builder(tokenizer).read(dataFile);
        } finally {
            Files.deleteIfExists(dataFile);
        }
        System.out.printf(Locale.ROOT, "Dataset: %d stories about Pip the dragon (%s)%n", data.size(), DATASET_RESOURCE);
        System.out.println("Base model: " + BASE_NAME + " (Llama, 5 layers, vocab 512)");

        List<String> trained;
        Compute.seed(SEED);
        try (PeftModel model = Llama.causalLm(modelDir, BASE_NAME)) {
            print("Greedy continuations before training:", generate(model, tokenizer));
            LoraConfig config = loraConfig();
            PeftAdapter<LoraConfig> lora = Peft.wrap(model, config);
            System.out.printf(Locale.ROOT, "LoRA r=%d, alpha=%.0f on %s%n", config.r(), config.loraAlpha(), config.targetModules());
            System.out.println(model.trainableReport());
            TrainingConfig training = trainingBuilder().outputDir(trainingDir).build();
            long t0 = System.nanoTime();
            new Trainer(model, new CausalLanguageModeling(), training).fit(data, null);
            System.out.printf(Locale.ROOT, "Trained %d epochs in %.1f s; loss curve: %s%n", training.epochs(),
                    (System.nanoTime() - t0) / 1e9, trainingDir.resolve(TrainingHistory.LOSS_PNG));
            trained = generate(model, tokenizer);
            print("Greedy continuations after training:", trained);
            lora.save(adapterDir);
            System.out.println("Adapter saved to " + adapterDir + ": adapter_config.json, adapter_model.safetensors"
                    + (out.path().equals(adapterDir) ? "" : "; folder " + out.describe()));
        }

        try (PeftModel fresh = Llama.causalLm(modelDir, BASE_NAME)) {
            Peft.load(fresh, adapterDir);
            List<String> reloaded = generate(fresh, tokenizer);
            print("Adapter reloaded onto a fresh base model:", reloaded);
            if (!reloaded.equals(trained)) {
                throw new IllegalStateException("the reloaded adapter generates " + reloaded + ", not " + trained);
            }
            System.out.println("Same text as the trained model: yes");
        }
    }
}

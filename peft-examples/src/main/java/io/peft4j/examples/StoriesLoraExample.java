package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.generate.Generation;
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
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
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
    static final int MAX_TOKENS = 256;
    static final int NEW_TOKENS = 56;
    static final long SEED = 42;
    /** {@code <s>} and {@code </s>} in stories260K's tokenizer.json (and generation_config.json). */
    static final long BOS_ID = 1;
    static final long EOS_ID = 2;

    private StoriesLoraExample() {}

    /** r = 8 on every linear layer of the decoder (the tied output head left out, as HF PEFT's all-linear). */
    static LoraConfig loraConfig() {
        return LoraConfig.builder().r(8).loraAlpha(16)
                .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                .taskType("CAUSAL_LM")
                .build();
    }

    static TrainingConfig.Builder trainingBuilder() {
        return TrainingConfig.builder().epochs(2).batchSize(16).learningRate(1e-2f).warmupRatio(0.1f).seed(SEED);
    }

    /**
     * Greedy, stopping at {@code </s>} or after {@value #NEW_TOKENS}
     * tokens; each story decoded with its prompt (BOS first, skipped), since a continuation decoded alone
     * loses the space its first token starts with.
     */
    static List<String> generate(PeftModel model, TextTokenizer tokenizer) {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(NEW_TOKENS).eosTokenId(EOS_ID).build();
        long[][] prompts = new long[PROMPTS.size()][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = withBos(tokenizer.tokenIds(PROMPTS.get(i)));
        }
        Generation g = Generator.builder(model).config(config).build().generate(prompts);
        List<String> stories = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            long[] all = Arrays.copyOf(prompts[i], prompts[i].length + g.tokens(i).length);
            System.arraycopy(g.tokens(i), 0, all, prompts[i].length, g.tokens(i).length);
            stories.add(tokenizer.decode(all));
        }
        return stories;
    }

    static long[] withBos(long[] ids) {
        long[] out = new long[ids.length + 1];
        out[0] = BOS_ID;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    static void print(String title, List<String> stories) {
        System.out.println(title);
        for (String s : stories) {
            System.out.println("  " + s.replace('\n', ' '));
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
            Files.copy(in, dataFile, StandardCopyOption.REPLACE_EXISTING);
            data = CausalLmData.builder(tokenizer).read(dataFile);
        } finally {
            Files.deleteIfExists(dataFile);
        }
        // The stories start with "<s>" so that they train BOS first, as stories260K was trained.
        if (data.inputIds(0)[0] != BOS_ID) {
            throw new IllegalStateException(DATASET_RESOURCE + ": the tokenizer did not read the leading <s> as BOS (id "
                    + BOS_ID + "), got id " + data.inputIds(0)[0]);
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

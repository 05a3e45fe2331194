package io.peft4j.examples;

import io.peft4j.adapters.prompt.PromptLearning;
import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.CausalLmData;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * The causal-LM half of the prompt-method examples: stories260K on the shipped Pip stories (as
 * {@link StoriesLoraExample}), loss and greedy continuations before and after training, the adapter saved
 * and reloaded onto a fresh base model, which must generate the same text.
 */
final class PromptStories {
    private PromptStories() {}

    static double run(PeftConfig config, TrainingConfig training, Path adapterDir) throws Exception {
        Path modelDir = StoriesLoraExample.extractModel();
        Path dataFile = Files.createTempFile("peft4j-pip-stories", ".jsonl");
        try (TextTokenizer tokenizer = TextTokenizer.fromJson(modelDir.resolve("tokenizer.json"), StoriesLoraExample.MAX_TOKENS)) {
            CausalLmData data;
            try (InputStream in = StoriesLoraExample.resource(StoriesLoraExample.DATASET_RESOURCE)) {
                Files.copy(in, dataFile, StandardCopyOption.REPLACE_EXISTING);
                data = CausalLmData.builder(tokenizer).read(dataFile);
            }
            List<String> trained;
            double loss;
            Compute.seed(StoriesLoraExample.SEED);
            try (PeftModel model = Llama.causalLm(modelDir, StoriesLoraExample.BASE_NAME)) {
                StoriesLoraExample.print("Greedy continuations before training:", StoriesLoraExample.generate(model, tokenizer));
                PeftAdapter<PeftConfig> adapter = Peft.wrap(model, config);
                System.out.println(PromptLearning.of(model).config(adapter.adapterName()).toJson());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, new CausalLanguageModeling(), training);
                System.out.printf(Locale.ROOT, "Training loss before: %.4f%n", trainer.evaluate(data).get(Metrics.LOSS));
                long t0 = System.nanoTime();
                trainer.fit(data, null);
                loss = trainer.evaluate(data).get(Metrics.LOSS);
                System.out.printf(Locale.ROOT, "Training loss after:  %.4f  (%.1f s)%n", loss, (System.nanoTime() - t0) / 1e9);
                trained = StoriesLoraExample.generate(model, tokenizer);
                StoriesLoraExample.print("Greedy continuations after training:", trained);
                adapter.save(adapterDir);
            }
            try (PeftModel fresh = Llama.causalLm(modelDir, StoriesLoraExample.BASE_NAME)) {
                Peft.load(fresh, adapterDir);
                List<String> reloaded = StoriesLoraExample.generate(fresh, tokenizer);
                if (!reloaded.equals(trained)) {
                    throw new IllegalStateException("the reloaded adapter generates " + reloaded + ", not " + trained);
                }
                System.out.println("Reloaded onto a fresh base model: same text");
            }
            return loss;
        } finally {
            Files.deleteIfExists(dataFile);
            FileTrees.delete(modelDir);
        }
    }
}

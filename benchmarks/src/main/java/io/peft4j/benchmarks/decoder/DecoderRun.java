package io.peft4j.benchmarks.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.Generation;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.model.llama.LlamaConfig;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.QLora;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One measurement of the decoder benchmark, in its own JVM so that its peak resident memory is its
 * own: loads the model (timed), then either trains one method for warm-up + measured steps at batch 1
 * or generates greedily with and without the KV cache. Writes one JSON object.
 *
 * <p>Arguments: job, model directory, sequence length, warm-up steps, measured steps, prompt length,
 * new tokens, output file.
 */
public final class DecoderRun {
    static final long SEED = 42;
    /** Generation runs once this short to warm up libtorch before the timed runs. */
    private static final int WARMUP_NEW_TOKENS = 4;

    private DecoderRun() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 8) {
            throw new IllegalArgumentException("DecoderRun needs 8 arguments (job, model dir, sequence length, warm-up steps,"
                    + " steps, prompt length, new tokens, output file), got " + Arrays.toString(args));
        }
        DecoderJob job = DecoderJob.valueOf(args[0]);
        Path dir = Paths.get(args[1]);
        int seq = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int steps = Integer.parseInt(args[4]);
        int promptLength = Integer.parseInt(args[5]);
        int newTokens = Integer.parseInt(args[6]);
        Path out = Paths.get(args[7]);
        ObjectNode result = new ObjectMapper().createObjectNode();
        result.put("job", job.name());
        LlamaConfig config = LlamaConfig.fromJson(dir.resolve("config.json"));
        Compute.seed(SEED);
        long t0 = System.nanoTime();
        // QLoRA quantizes each linear layer as it is read, as a user with a model larger than memory would.
        DecoderLoadOptions options = job == DecoderJob.QLORA
                ? DecoderLoadOptions.builder().quantization(QuantizationConfig.nf4()).build()
                : DecoderLoadOptions.defaults();
        try (PeftModel model = Llama.causalLm(dir, dir.getFileName().toString(), options)) {
            result.put("load_ms", (System.nanoTime() - t0) / 1e6);
            result.put("rss_after_load_kb", ProcStatus.rssKb());
            result.put("parameters", model.trainableReport().total());
            if (job.trains()) {
                train(model, job, config, seq, warmup, steps, result);
            } else {
                generate(model, config, promptLength, newTokens, result);
            }
        }
        result.put("peak_rss_kb", ProcStatus.peakRssKb());
        Files.writeString(out, result.toString());
    }

    private static void train(PeftModel model, DecoderJob job, LlamaConfig config, int seq, int warmup, int steps,
            ObjectNode result) {
        if (job == DecoderJob.QLORA) {
            QLora.wrap(model, (LoraConfig) job.peftConfig(), QuantizationConfig.nf4());
        } else {
            Peft.wrap(model, job.peftConfig());
        }
        result.put("trainable", model.trainableReport().trainable());
        result.put("total", model.trainableReport().total());
        result.put("weight_bytes", model.weightBytes());
        // A small constant rate: the step's cost does not depend on it, and random weights need not learn.
        TrainingConfig cfg = TrainingConfig.builder().epochs(1).batchSize(1).learningRate(1e-5f).warmupRatio(0f)
                .seed(SEED).progressBar(false).build();
        List<Long> stamps = new ArrayList<>();
        Trainer trainer = new Trainer(model, new CausalLanguageModeling(), cfg).onStep(s -> stamps.add(System.nanoTime()));
        stamps.add(System.nanoTime());
        trainer.fit(new RandomTokens(warmup + steps, seq, config.vocabSize(), SEED), null);
        double[] ms = new double[steps];
        for (int i = 0; i < steps; i++) {
            ms[i] = (stamps.get(warmup + i + 1) - stamps.get(warmup + i)) / 1e6;
        }
        Arrays.sort(ms);
        double median = steps % 2 == 1 ? ms[steps / 2] : (ms[steps / 2 - 1] + ms[steps / 2]) / 2;
        result.put("steps", steps);
        result.put("median_step_ms", median);
        result.put("min_step_ms", ms[0]);
        result.put("max_step_ms", ms[steps - 1]);
        result.put("tokens_per_s", seq / (median / 1000));
    }

    private static void generate(PeftModel model, LlamaConfig config, int promptLength, int newTokens, ObjectNode result) {
        // Ids above the usual special tokens (0-2 in Llama vocabularies); no eos, so every run makes all its tokens.
        long[][] prompt = {RandomTokens.prompt(promptLength, 3, config.vocabSize(), SEED)};
        GenerationConfig warm = GenerationConfig.builder().maxNewTokens(WARMUP_NEW_TOKENS).build();
        GenerationConfig timed = GenerationConfig.builder().maxNewTokens(newTokens).build();
        for (boolean cache : new boolean[] {true, false}) {
            Generator.builder(model).config(warm).useCache(cache).build().generate(prompt);
        }
        long[] withCache = timedGeneration(model, timed, true, prompt, result, "cache");
        long[] without = timedGeneration(model, timed, false, prompt, result, "no_cache");
        result.put("prompt_tokens", promptLength);
        result.put("new_tokens", newTokens);
        result.put("same_ids", Arrays.equals(withCache, without));
    }

    /** Times one generation: total tokens/s, the first token (prefill) and the later ones (decode). */
    private static long[] timedGeneration(PeftModel model, GenerationConfig config, boolean cache, long[][] prompt,
            ObjectNode result, String key) {
        List<Long> stamps = new ArrayList<>();
        Generator generator = Generator.builder(model).config(config).useCache(cache)
                .listener((seq, id) -> stamps.add(System.nanoTime())).build();
        long t0 = System.nanoTime();
        Generation g = generator.generate(prompt);
        long end = System.nanoTime();
        int n = g.tokens(0).length;
        result.put(key + "_tokens_per_s", n / ((end - t0) / 1e9));
        result.put(key + "_first_token_ms", (stamps.get(0) - t0) / 1e6);
        if (n > 1) {
            result.put(key + "_decode_tokens_per_s", (n - 1) / ((stamps.get(n - 1) - stamps.get(0)) / 1e9));
        }
        return g.tokens(0);
    }
}

package io.peft4j.benchmarks.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.FileTrees;
import io.peft4j.core.model.llama.LlamaConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Decoder benchmark: for each model (random Llama-family shapes written as transformers directories
 * by {@link RandomLlamaDirectory}, and the real stories260K), load time, peak RSS, and LoRA, QLoRA and
 * full fine-tuning step time and tokens/s at batch 1, then greedy generation with and without the KV
 * cache. Each measurement runs in a fresh JVM ({@link DecoderRun}) so that its peak RSS is its own; a
 * run whose estimated memory ({@link MemoryEstimate}) exceeds what the machine has free (or
 * {@code --memory-limit-gb}) is skipped with the reason. Prints one Markdown table and writes it to
 * {@code --out}. Options: see {@link DecoderOptions}.
 */
public final class DecoderBenchmark {
    private static final Logger LOG = LoggerFactory.getLogger(DecoderBenchmark.class);
    /** stories260K in peft-examples' resources (as its StoriesLoraExample ships it); only what loading needs. */
    private static final String STORIES_RESOURCE = "models/stories260K/";
    private static final List<String> STORIES_FILES = List.of("config.json", "model.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();

    private DecoderBenchmark() {}

    public static void main(String[] args) throws Exception {
        DecoderOptions o = DecoderOptions.parse(args);
        List<DecoderTable.ModelResults> models = new ArrayList<>();
        for (DecoderSize size : o.sizes) {
            Path dir = size == DecoderSize.STORIES260K ? stories(o.modelsDir)
                    : RandomLlamaDirectory.ensure(o.modelsDir, size.option + "-" + o.dtype.name().toLowerCase(Locale.ROOT),
                            size.randomConfig(), o.dtype, o.maxShardBytes, DecoderRun.SEED);
            LlamaConfig config = LlamaConfig.fromJson(dir.resolve("config.json"));
            long params = RandomLlamaDirectory.parameterCount(config);
            Map<DecoderJob, JsonNode> runs = new LinkedHashMap<>();
            for (DecoderJob job : o.jobs) {
                runs.put(job, measure(o, job, dir, config, params));
            }
            String checkpoint = size == DecoderSize.STORIES260K ? "float32 checkpoint"
                    : o.dtype.name().toLowerCase(Locale.ROOT) + " checkpoint, " + onDisk(directoryBytes(dir));
            models.add(new DecoderTable.ModelResults(size.label, params, checkpoint, runs));
        }
        String setup = String.format(Locale.ROOT, "Training: batch 1 × %d random tokens (loss on all), AdamW, %d warm-up steps"
                + " then the median of %d; weights float32 in memory. Generation: batch 1, %d new tokens after a %d-token prompt."
                + " Each training row, and each model's two generation rows, ran in a fresh JVM (-Xmx%s); peak RSS is its VmHWM.", o.seq, o.warmup, o.steps, o.newTokens,
                o.promptLength, o.heap);
        String table = DecoderTable.render(MachineInfo.describe(o.threadsLabel()), setup, models);
        AtomicFiles.writeString(o.out, table);
        System.out.println(table);
        LOG.info("Written to {}", o.out.toAbsolutePath());
    }

    /** One job in a child JVM, or a node saying why it did not run. */
    private static JsonNode measure(DecoderOptions o, DecoderJob job, Path dir, LlamaConfig config, long params)
            throws IOException, InterruptedException {
        int tokens = job.trains() ? o.seq : o.promptLength + o.newTokens;
        long need = MemoryEstimate.bytes(job, config, params, tokens, o.heapBytes(), directoryBytes(dir));
        long availableKb = ProcStatus.memAvailableKb();
        String why = MemoryEstimate.reasonToSkip(need, availableKb, o.memoryLimitBytes);
        if (why != null) {
            LOG.warn("Skipping {} on {}: {}", job.label, dir.getFileName(), why);
            return skipped(job, why);
        }
        Path json = Files.createTempFile("peft4j-decoder-bench", ".json");
        try {
            List<String> cmd = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xms" + o.heap, "-Xmx" + o.heap, "-XX:+AlwaysPreTouch", "-Dai.djl.offline=true"));
            if (o.threads > 0) {
                cmd.add("-Dai.djl.pytorch.num_threads=" + o.threads);
            }
            cmd.addAll(List.of("-cp", childClasspath(), DecoderRun.class.getName(), job.name(),
                    dir.toString(), Integer.toString(o.seq), Integer.toString(o.warmup), Integer.toString(o.steps),
                    Integer.toString(o.promptLength), Integer.toString(o.newTokens), json.toString()));
            LOG.info("{} on {} (estimated peak {} GiB) in a fresh JVM", job.label, dir.getFileName(),
                    String.format(Locale.ROOT, "%.1f", need / (double) MemoryEstimate.GB));
            int rc = new ProcessBuilder(cmd).inheritIO().start().waitFor();
            if (rc != 0) {
                return skipped(job, "failed with exit code " + rc + " (see the log above)");
            }
            return JSON.readTree(json.toFile());
        } finally {
            Files.deleteIfExists(json); // read once: leave nothing behind in /tmp
        }
    }

    /**
     * The classpath for child JVMs: this JVM's, or under {@code mvn exec:java} (where java.class.path is
     * Maven's own launcher) the project classpath of the plugin's class loader.
     */
    static String childClasspath() {
        ClassLoader loader = DecoderBenchmark.class.getClassLoader();
        if (loader instanceof URLClassLoader) {
            StringBuilder cp = new StringBuilder();
            for (URL url : ((URLClassLoader) loader).getURLs()) {
                try {
                    cp.append(cp.length() == 0 ? "" : File.pathSeparator).append(Paths.get(url.toURI()));
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("classpath entry " + url + " is not a file", e);
                }
            }
            return cp.toString();
        }
        return System.getProperty("java.class.path");
    }

    private static JsonNode skipped(DecoderJob job, String why) {
        ObjectNode n = JSON.createObjectNode();
        n.put("job", job.name());
        n.put("skipped", why);
        return n;
    }

    /** stories260K copied out of the classpath (a resource in a jar has no path), once. */
    private static Path stories(Path root) throws IOException {
        Path dir = root.resolve("stories260K");
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
            return dir;
        }
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, ".stories260K-");
        try {
            for (String f : STORIES_FILES) {
                try (InputStream in = DecoderBenchmark.class.getClassLoader().getResourceAsStream(STORIES_RESOURCE + f)) {
                    if (in == null) {
                        throw new IOException("resource " + STORIES_RESOURCE + f + " is not on the classpath (peft-examples)");
                    }
                    Files.copy(in, tmp.resolve(f));
                }
            }
            Files.move(tmp, dir);
            return dir;
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.delete(tmp);
            }
        }
    }

    private static String onDisk(long bytes) {
        return bytes >= 100_000_000L ? String.format(Locale.ROOT, "%.2f GB on disk", bytes / 1e9)
                : String.format(Locale.ROOT, "%.1f MB on disk", bytes / 1e6);
    }

    private static long directoryBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}

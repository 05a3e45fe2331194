package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Trains MiniLM with full fine-tuning, freeze, LoRA (r = 4, 8, 16), QLoRA (NF4, INT8), SpIEL-AG, HFT and LT-SFT on the same data, each in a
 * fresh JVM, and writes one Markdown table: trainable parameters, adapter size on disk, peak
 * resident memory, mean step time and its ratio to full fine-tuning's (the headline), accuracy.
 * Arguments: [epochs (default 4)] [output file (default benchmarks/target/training-benchmark.md)]
 * [methods, comma-separated {@link Method} names (default all)].
 */
public final class TrainingBenchmark {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingBenchmark.class);

    private TrainingBenchmark() {}

    public static void main(String[] args) throws Exception {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        Path out = Paths.get(args.length > 1 ? args[1] : "target/training-benchmark.md");
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        List<Method> methods = new ArrayList<>();
        if (args.length > 2) {
            for (String name : args[2].split(",")) {
                methods.add(Method.valueOf(name.trim()));
            }
        } else {
            methods.addAll(Arrays.asList(Method.values()));
        }
        List<JsonNode> rows = new ArrayList<>();
        for (Method m : methods) {
            Path json = Files.createTempFile("peft4j-bench", ".json");
            LOG.info("Running {} for {} epochs in a fresh JVM", m.label, epochs);
            // A fixed, pre-touched heap makes the JVM's share of resident memory the same in every run
            // (the heap otherwise grows with GC timing by tens of MB), so peak RSS differences are the
            // native memory of weights, activations and optimizer state.
            Process p = new ProcessBuilder(java, "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-Dai.djl.offline=true", "-cp", classpath,
                    TrainingRun.class.getName(), m.name(), Integer.toString(epochs), json.toString())
                    .inheritIO().start();
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException(m.label + " run failed with exit code " + rc);
            }
            rows.add(new ObjectMapper().readTree(json.toFile()));
            Files.delete(json); // read once: leave nothing behind in /tmp
        }
        String table = table(rows, epochs);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, table);
        System.out.println(table);
        LOG.info("Written to {}", out.toAbsolutePath());
    }

    static String table(List<JsonNode> rows, int epochs) {
        double fullStep = rows.get(0).get("mean_step_ms").asDouble();
        long fullRss = rows.get(0).get("peak_rss_kb").asLong();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Training benchmark, %s: all-MiniLM-L6-v2, topic data (240 train / 80 test),"
                + " batch %d, sequence %d, %d epochs, %s, %d cores.%n%n", LocalDate.now(), TrainingRun.BATCH,
                TrainingRun.SEQ, epochs, System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors()));
        sb.append("| method | trainable params | trainable % | adapter on disk | weights in memory | peak RSS | RSS / full | mean step | step / full | test accuracy |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (JsonNode r : rows) {
            long trainable = r.get("trainable").asLong();
            double pct = 100.0 * trainable / r.get("total").asLong();
            sb.append(String.format(Locale.ROOT, "| %s | %,d | %.2f%% | %s | %s | %,d MB | %.2f | %.0f ms | %.2f | %.4f |%n",
                    r.get("label").asText(), trainable, pct, bytes(r.get("adapter_bytes").asLong()),
                    bytes(r.get("weight_bytes").asLong()),
                    r.get("peak_rss_kb").asLong() / 1024, (double) r.get("peak_rss_kb").asLong() / fullRss,
                    r.get("mean_step_ms").asDouble(), r.get("mean_step_ms").asDouble() / fullStep, r.get("accuracy").asDouble()));
        }
        return sb.toString();
    }

    private static String bytes(long b) {
        if (b >= 1 << 20) {
            return String.format(Locale.ROOT, "%.1f MB", b / 1048576.0);
        }
        return String.format(Locale.ROOT, "%.0f KB", b / 1024.0);
    }
}

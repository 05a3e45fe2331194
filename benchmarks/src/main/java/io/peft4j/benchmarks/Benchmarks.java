package io.peft4j.benchmarks;

import io.peft4j.benchmarks.decoder.DecoderBenchmark;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Entry point: {@code training} runs {@link TrainingBenchmark}; {@code kernels} runs the JMH kernels and prints ratios;
 * {@code decoders} runs {@link DecoderBenchmark} with the remaining arguments as its options.
 */
public final class Benchmarks {
    private Benchmarks() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].trim().contains(" ")) {
            // exec:exec passes -Dbench="decoders --sizes tiny" as one argument: the options ride along in it.
            args = args[0].trim().split("\\s+");
        }
        String which = args.length > 0 ? args[0] : "training";
        String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
        if (which.equals("training")) {
            TrainingBenchmark.main(rest);
        } else if (which.equals("kernels")) {
            kernels();
        } else if (which.equals("decoders")) {
            DecoderBenchmark.main(rest);
        } else {
            throw new IllegalArgumentException("Unknown benchmark '" + which + "'; use training, kernels or decoders");
        }
    }

    private static void kernels() throws Exception {
        Options opt = new OptionsBuilder().include(LoraLinearBenchmark.class.getSimpleName())
                .forks(1).warmupIterations(3).warmupTime(TimeValue.seconds(1))
                .measurementIterations(5).measurementTime(TimeValue.seconds(2)).jvmArgs("-Xmx2g", "-Dai.djl.offline=true").build();
        Collection<RunResult> results = new Runner(opt).run();
        Map<String, double[]> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            scores.put(name, new double[] {r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreError()});
        }
        StringBuilder sb = new StringBuilder();
        sb.append("| kernel (384x384 linear, 2048 tokens, r=8) | time (us) | ratio |\n|---|---:|---:|\n");
        row(sb, scores, "forwardPlain", "forwardPlain");
        row(sb, scores, "forwardLora", "forwardPlain");
        row(sb, scores, "forwardMerged", "forwardPlain");
        row(sb, scores, "trainStepFull", "trainStepFull");
        row(sb, scores, "trainStepLora", "trainStepFull");
        row(sb, scores, "forwardQlora", "forwardPlain");
        row(sb, scores, "trainStepQlora", "trainStepFull");
        Path out = Paths.get("target/kernels-benchmark.md");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, sb.toString());
        System.out.println(sb);
    }

    private static void row(StringBuilder sb, Map<String, double[]> s, String name, String baseline) {
        double[] v = s.get(name);
        double[] b = s.get(baseline);
        if (v == null || b == null) {
            return;
        }
        sb.append(String.format(Locale.ROOT, "| %s | %.0f ± %.0f | %.2f (vs %s) |%n", name, v[0], v[1], v[0] / b[0], baseline));
    }
}

package io.peft4j.core.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.BertConfig;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.LlamaConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Mutates well-formed files this test writes and feeds them to the public loaders in a child JVM
 * ({@link FuzzChild}). Fails on a crash (the child dies), a hang (no progress for 30 s), or a
 * rejection that is not a peft4j exception naming the file. Tagged {@code fuzz}: run with
 * {@code mvn -B -o -pl peft-core test -Pfuzz}; {@code -Dfuzz.cases=N} (default 200 per loader) and
 * {@code -Dfuzz.seed=S} set the run's size and seed.
 */
@Tag("fuzz")
class LoaderFuzzTest {
    private static final long HANG_SECONDS = 30;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"safetensors", "bert-config", "llama-config", "gpt2-config"})
    void mutatedFilesGiveACleanResultInAChildJvm(String loader) throws Exception {
        int cases = Integer.getInteger("fuzz.cases", 200);
        long seed = Long.getLong("fuzz.seed", 13L);
        byte[] seedFile = seedFile(loader);
        int textStart = loader.equals("safetensors") ? 8 : 0;
        int textEnd = loader.equals("safetensors") ? 8 + (int) ByteBuffer.wrap(seedFile, 0, 8)
                .order(ByteOrder.LITTLE_ENDIAN).getLong() : seedFile.length;
        Path cases0 = Files.createDirectories(dir.resolve(loader));
        Mutator mutator = new Mutator(seed ^ loader.hashCode());
        for (int i = 0; i < cases; i++) {
            int kind = i % Mutator.KINDS;
            Files.write(cases0.resolve(String.format("case-%05d-kind%d", i, kind)),
                    mutator.mutate(seedFile, textStart, textEnd, kind));
        }

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = dir.resolve(loader + ".log");
        Process p = new ProcessBuilder(List.of(java, "-Xmx1g", "-Dai.djl.offline=true", "-cp",
                System.getProperty("java.class.path"), FuzzChild.class.getName(), loader, cases0.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long lastSize = -1;
        long stalledSince = System.nanoTime();
        while (!p.waitFor(1, TimeUnit.SECONDS)) {
            long size = Files.size(log);
            if (size != lastSize) {
                lastSize = size;
                stalledSince = System.nanoTime();
            } else if (System.nanoTime() - stalledSince > TimeUnit.SECONDS.toNanos(HANG_SECONDS)) {
                p.destroyForcibly().waitFor();
                break;
            }
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        Map<String, Integer> counts = new TreeMap<>();
        List<String> wrong = new ArrayList<>();
        String pending = null;
        boolean ended = false;
        for (String line : lines) {
            String word = line.contains(" ") ? line.substring(0, line.indexOf(' ')) : line;
            switch (word) {
                case "START": pending = line.substring(6); break;
                case "ACCEPTED": case "REJECTED": counts.merge(word, 1, Integer::sum); pending = null; break;
                case "WRONG": counts.merge(word, 1, Integer::sum); wrong.add(line); pending = null; break;
                case "END": ended = true; break;
                default: break;
            }
        }
        String summary = loader + ": " + cases + " cases, seed " + seed + ", outcomes " + counts;
        System.out.println(summary);
        assertTrue(ended && p.exitValue() == 0, summary + "; the child died (exit " + p.exitValue()
                + ") or hung on " + pending + "; log " + log);
        assertTrue(wrong.isEmpty(), summary + "; not a peft4j exception naming the file:\n"
                + String.join("\n", wrong.subList(0, Math.min(10, wrong.size()))));
    }

    private byte[] seedFile(String loader) throws IOException {
        Path f = dir.resolve("seed-" + loader);
        switch (loader) {
            case "safetensors": {
                Map<String, Tensor> t = new LinkedHashMap<>();
                t.put("w", Tensor.ofFloats(new float[] {1f, -2f, 0.5f, 3f, 4f, 5f}, 2, 3));
                t.put("b", Tensor.ofFloats(new float[] {0.25f, 0.75f}, 2));
                t.put("ids", new Tensor(DType.I64, new long[] {2}, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(7).putLong(-1).flip()));
                t.put("mask", new Tensor(DType.U8, new long[] {4}, ByteBuffer.wrap(new byte[] {1, 0, 1, 1})));
                SafeTensors.write(f, t, Map.of("format", "pt"));
                return Files.readAllBytes(f);
            }
            case "bert-config":
                return BertConfig.builder().vocabSize(64).hiddenSize(16).numHiddenLayers(2).numAttentionHeads(4)
                        .intermediateSize(32).maxPositionEmbeddings(32).build().toJson().getBytes(StandardCharsets.UTF_8);
            case "llama-config":
                return LlamaConfig.builder().build().toJson().getBytes(StandardCharsets.UTF_8);
            default:
                return Gpt2Config.builder().build().toJson().getBytes(StandardCharsets.UTF_8);
        }
    }
}

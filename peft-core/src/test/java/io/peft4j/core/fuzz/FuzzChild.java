package io.peft4j.core.fuzz;

import ai.djl.ndarray.NDManager;
import io.peft4j.core.Compute;
import io.peft4j.core.io.NonFiniteValues;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.SafeTensorsFile;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.BertConfig;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.model.llama.LlamaConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Child-JVM side of {@link LoaderFuzzTest}: feeds every file of a directory to one public loader and
 * prints {@code START <file>} before and {@code <OUTCOME> <file> <detail>} after each, so that the
 * parent can name the file a crash or hang happened on. Outcomes: {@code ACCEPTED}, {@code REJECTED}
 * (a peft4j exception naming the file), {@code WRONG} (any other exception).
 */
public final class FuzzChild {
    private FuzzChild() {}

    public static void main(String[] args) throws IOException {
        String loader = args[0];
        List<Path> files;
        try (Stream<Path> s = Files.list(Path.of(args[1]))) {
            files = s.sorted().collect(Collectors.toList());
        }
        try (NDManager m = Compute.newManager()) {
            for (Path f : files) {
                System.out.println("START " + f);
                System.out.flush();
                String outcome;
                try {
                    load(loader, f, m);
                    outcome = "ACCEPTED " + f;
                } catch (UncheckedIOException e) {
                    outcome = classify(f, e.getCause());
                } catch (IOException | IllegalArgumentException e) {
                    outcome = classify(f, e);
                } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                    outcome = "WRONG " + f + " " + e;
                }
                System.out.println(outcome.replace('\n', ' '));
                System.out.flush();
            }
        }
        System.out.println("END");
    }

    private static String classify(Path f, Throwable e) {
        String msg = String.valueOf(e.getMessage());
        return (msg.contains(f.toString()) ? "REJECTED " : "WRONG ") + f + " " + e.getClass().getName() + ": " + msg;
    }

    private static void load(String loader, Path f, NDManager m) throws IOException {
        switch (loader) {
            case "safetensors": {
                SafeTensorsFile read = SafeTensors.read(f);
                try {
                    NonFiniteValues.check(f.toString(), read.tensors());
                } catch (IllegalArgumentException e) {
                    throw new IOException(e.getMessage(), e);
                }
                for (Tensor t : read.tensors().values()) {
                    if (t.numel() < (1 << 20)) {
                        try (NDManager step = m.newSubManager()) {
                            t.toNDArray(step); // native code sees every accepted tensor
                        }
                    }
                }
                break;
            }
            case "bert-config":
                BertConfig.fromJson(f);
                break;
            case "llama-config":
                LlamaConfig.fromJson(f);
                break;
            case "gpt2-config":
                Gpt2Config.fromJson(f);
                break;
            default:
                throw new IllegalStateException("unknown loader " + loader);
        }
    }
}

package io.peft4j.benchmarks.decoder;

import io.peft4j.core.io.DType;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;

/**
 * The decoder benchmark's command line, {@code --name value} pairs:
 * <ul>
 *   <li>{@code --sizes} {@code 0.5b,1.1b,stories260k} (default) or any of those and {@code tiny}</li>
 *   <li>{@code --jobs} {@code lora,qlora,full,generate} (default: all): what to measure per model</li>
 *   <li>{@code --dtype} {@code bf16} (default) or {@code f32}: the dtype of the random checkpoints written</li>
 *   <li>{@code --seq} 512, {@code --warmup} 2, {@code --steps} 5: training tokens per step, steps left out, steps timed</li>
 *   <li>{@code --prompt} 64, {@code --new-tokens} 64: generation</li>
 *   <li>{@code --threads} libtorch intra-op threads (default: libtorch's own, one per core)</li>
 *   <li>{@code --memory-limit-gb} 24 (GiB): runs estimated above 90 % of this (or of MemAvailable, if less) are skipped</li>
 *   <li>{@code --heap} 2g: each child JVM's fixed heap</li>
 *   <li>{@code --shard-size-mb} 5000: transformers' default shard size</li>
 *   <li>{@code --models-dir} target/decoder-models, {@code --out} target/decoder-bench.md</li>
 * </ul>
 */
final class DecoderOptions {
    List<DecoderSize> sizes = List.of(DecoderSize.QWEN2_0_5B, DecoderSize.TINYLLAMA_1_1B, DecoderSize.STORIES260K);
    List<DecoderJob> jobs = List.of(DecoderJob.values());
    DType dtype = DType.BF16;
    int seq = 512;
    int warmup = 2;
    int steps = 5;
    int promptLength = 64;
    int newTokens = 64;
    int threads;
    long memoryLimitBytes = 24L << 30;
    String heap = "2g";
    long maxShardBytes = RandomLlamaDirectory.DEFAULT_MAX_SHARD_BYTES;
    Path modelsDir = Paths.get("target/decoder-models");
    Path out = Paths.get("target/decoder-bench.md");

    static DecoderOptions parse(String[] args) {
        DecoderOptions o = new DecoderOptions();
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("options come as --name value pairs, got an odd count: " + String.join(" ", args));
        }
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i];
            String v = args[i + 1];
            switch (name) {
                case "--sizes": o.sizes = DecoderSize.parseList(v); break;
                case "--jobs": o.jobs = jobs(v); break;
                case "--dtype": o.dtype = dtype(v); break;
                case "--seq": o.seq = positive(name, v); break;
                case "--warmup": o.warmup = atLeast(name, v, 0); break;
                case "--steps": o.steps = positive(name, v); break;
                case "--prompt": o.promptLength = positive(name, v); break;
                case "--new-tokens": o.newTokens = positive(name, v); break;
                case "--threads": o.threads = positive(name, v); break;
                case "--memory-limit-gb": o.memoryLimitBytes = (long) positive(name, v) << 30; break;
                case "--heap": o.heap = heap(v); break;
                case "--shard-size-mb": o.maxShardBytes = positive(name, v) * 1_000_000L; break;
                case "--models-dir": o.modelsDir = Paths.get(v); break;
                case "--out": o.out = Paths.get(v); break;
                default:
                    throw new IllegalArgumentException("unknown option " + name + "; expected --sizes, --jobs, --dtype, --seq, --warmup,"
                            + " --steps, --prompt, --new-tokens, --threads, --memory-limit-gb, --heap, --shard-size-mb,"
                            + " --models-dir or --out");
            }
        }
        return o;
    }

    String threadsLabel() {
        return threads > 0 ? Integer.toString(threads) : "libtorch default (one per core)";
    }

    long heapBytes() {
        long n = Long.parseLong(heap.substring(0, heap.length() - 1));
        return heap.endsWith("g") ? n << 30 : n << 20;
    }

    private static String heap(String v) {
        if (!v.matches("[0-9]+[mg]")) {
            throw new IllegalArgumentException("--heap must look like 2g or 1536m, got '" + v + "'");
        }
        return v;
    }

    private static List<DecoderJob> jobs(String v) {
        List<DecoderJob> out = new java.util.ArrayList<>();
        for (String s : v.split(",")) {
            try {
                out.add(DecoderJob.valueOf(s.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--jobs: unknown job '" + s + "'; expected lora, qlora, full or generate", e);
            }
        }
        return out;
    }

    private static DType dtype(String v) {
        switch (v.toLowerCase(Locale.ROOT)) {
            case "bf16": return DType.BF16;
            case "f32": return DType.F32;
            default: throw new IllegalArgumentException("--dtype must be bf16 or f32, got '" + v + "'");
        }
    }

    private static int positive(String name, String v) {
        return atLeast(name, v, 1);
    }

    private static int atLeast(String name, String v, int min) {
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + v + "'", e);
        }
        if (n < min) {
            throw new IllegalArgumentException(name + " must be at least " + min + ", got " + n);
        }
        return n;
    }
}

package io.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.task.CausalLanguageModeling;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Measures what gradient checkpointing saves: full fine-tuning steps of stories260K on random token
 * sequences, with or without it, in a fresh JVM per setting (peak RSS is per process). Prints the
 * process's peak resident memory above what it held after loading, and the median step time. Not a
 * test; run from the repository root after {@code mvn -B -o -q -pl peft-core test-compile}:
 * <pre>
 * mvn -B -o -q -pl peft-core dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp peft-core/target/test-classes:peft-core/target/classes:$(cat /tmp/cp.txt) \
 *     io.peft4j.core.train.GradientCheckpointingMeasure on|off BATCH SEQ STEPS
 * </pre>
 */
public final class GradientCheckpointingMeasure {
    private GradientCheckpointingMeasure() {}

    public static void main(String[] args) throws Exception {
        boolean on = "on".equals(args[0]);
        int batch = Integer.parseInt(args[1]);
        int seq = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        Compute.seed(1);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            model.setAllTrainable(true);
            long base = status("VmRSS:");
            Random r = new Random(3);
            long[][] seqs = new long[batch * steps][seq];
            for (long[] s : seqs) {
                for (int i = 0; i < seq; i++) {
                    s[i] = 3 + r.nextInt(500);
                }
            }
            Batches data = new Batches() {
                @Override
                public int size() {
                    return seqs.length;
                }

                @Override
                public Batch batch(NDManager m, int[] idx) {
                    long[] flat = new long[idx.length * seq];
                    for (int i = 0; i < idx.length; i++) {
                        System.arraycopy(seqs[idx[i]], 0, flat, i * seq, seq);
                    }
                    var ids = m.create(flat, new Shape(idx.length, seq));
                    return Batch.builder(idx.length).put(Batch.INPUT_IDS, ids).put(Batch.LABELS, ids).build();
                }
            };
            List<Long> times = new ArrayList<>();
            long[] last = {System.nanoTime()};
            TrainingConfig cfg = TrainingConfig.builder().epochs(1).batchSize(batch).learningRate(1e-4f)
                    .progressBar(false).gradientCheckpointing(on).build();
            new Trainer(model, new CausalLanguageModeling(), cfg).onStep(s -> {
                long now = System.nanoTime();
                times.add(now - last[0]);
                last[0] = now;
            }).fit(data, null);
            List<Long> timed = new ArrayList<>(times.subList(1, times.size())); // the first step warms up
            timed.sort(null);
            System.out.printf(Locale.ROOT, "checkpointing=%s batch=%d seq=%d peak_rss_above_loaded_mib=%.1f median_step_s=%.3f%n",
                    on, batch, seq, (status("VmHWM:") - base) / 1048576.0, timed.get(timed.size() / 2) / 1e9);
        }
    }

    private static long status(String field) throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("No " + field + " in /proc/self/status");
    }
}

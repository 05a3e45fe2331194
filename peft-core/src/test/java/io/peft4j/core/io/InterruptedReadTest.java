package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An interrupt during a read closes a FileChannel; the tensors of the file must stay readable for
 * others, and the interrupted reader gets an exception naming the file with its interrupt kept.
 */
class InterruptedReadTest {
    @TempDir
    Path dir;

    @Test
    void anInterruptedReadFailsAloneAndKeepsTheInterrupt() throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", Tensor.ofFloats(new float[] {1f, 2f}, 2));
        in.put("b", Tensor.ofFloats(new float[] {3f}, 1));
        Path file = dir.resolve("w.safetensors");
        SafeTensors.write(file, in);
        SafeTensorsFile read = SafeTensors.read(file);

        boolean[] stillInterrupted = new boolean[1];
        UncheckedIOException[] thrown = new UncheckedIOException[1];
        Thread t = new Thread(() -> {
            Thread.currentThread().interrupt();
            try {
                read.get("a").toFloatArray();
            } catch (UncheckedIOException e) {
                thrown[0] = e;
            }
            stillInterrupted[0] = Thread.currentThread().isInterrupted();
        });
        t.start();
        t.join();
        assertTrue(thrown[0] != null && thrown[0].getMessage().contains(file.toString())
                && thrown[0].getMessage().contains("interrupted"), String.valueOf(thrown[0]));
        assertTrue(stillInterrupted[0], "the interrupt is not swallowed");
        assertArrayEquals(new float[] {1f, 2f}, read.get("a").toFloatArray(), 0f, "readable again from another thread");
        assertArrayEquals(new float[] {3f}, read.get("b").toFloatArray(), 0f);
    }
}

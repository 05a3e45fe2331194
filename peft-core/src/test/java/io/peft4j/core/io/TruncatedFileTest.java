package io.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A file truncated after it was opened must give an exception naming the file, not kill the JVM
 * (libtorch reading a truncated memory map dies of SIGBUS). Run in a child JVM, as a crash is the
 * failure being tested for.
 */
class TruncatedFileTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"native", "java"})
    void truncatedWhileOpenGivesAnExceptionNamingTheFile(String path) throws Exception {
        // 1 MiB of floats: the truncated part spans whole pages, so reading it faults.
        float[] values = new float[1 << 18];
        Path file = dir.resolve("w.safetensors");
        SafeTensors.write(file, Map.of("w", Tensor.ofFloats(values, values.length)));
        long headerEnd = java.nio.file.Files.size(file) - 4L * values.length;

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                TruncatedAfterOpen.class.getName(), file.toString(), Long.toString(headerEnd), path))
                .redirectErrorStream(true).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, "child JVM finished: " + out);
        assertEquals(0, p.exitValue(), "exit 0 after catching the exception (134/135 would be a signal): " + out);
        assertTrue(out.contains("CAUGHT " + file) && out.contains("tensor 'w'") && out.contains("truncated"), out);
    }
}

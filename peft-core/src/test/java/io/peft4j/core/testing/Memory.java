package io.peft4j.core.testing;

import ai.djl.ndarray.NDManager;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Memory probes for leak tests: the native arrays a manager still holds (exact, fast, any OS) and
 * the process's resident memory (Linux only, noisy: used by the long soak tests only).
 */
public final class Memory {
    private Memory() {}

    /**
     * Arrays alive in a manager and, recursively, in its open sub-managers. A per-step leak shows
     * up here as a count that grows by the same amount every step, long before it shows in RSS.
     */
    public static int managedArrays(NDManager manager) {
        return manager.getManagedArrays().size();
    }

    public static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("No VmRSS in /proc/self/status");
    }
}

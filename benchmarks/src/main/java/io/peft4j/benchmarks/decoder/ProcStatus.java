package io.peft4j.benchmarks.decoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Memory figures from Linux's /proc: the process's resident set and the machine's available memory (kB; -1 elsewhere). */
final class ProcStatus {
    private ProcStatus() {}

    /** VmHWM: the peak resident set of this process. */
    static long peakRssKb() throws IOException {
        return field(Paths.get("/proc/self/status"), "VmHWM:");
    }

    /** VmRSS: the resident set of this process now. */
    static long rssKb() throws IOException {
        return field(Paths.get("/proc/self/status"), "VmRSS:");
    }

    /** MemAvailable: what the kernel estimates can be allocated without swapping. */
    static long memAvailableKb() throws IOException {
        return field(Paths.get("/proc/meminfo"), "MemAvailable:");
    }

    static long memTotalKb() throws IOException {
        return field(Paths.get("/proc/meminfo"), "MemTotal:");
    }

    private static long field(Path file, String name) throws IOException {
        if (!Files.exists(file)) {
            return -1;
        }
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}

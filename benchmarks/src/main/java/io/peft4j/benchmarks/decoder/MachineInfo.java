package io.peft4j.benchmarks.decoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** The machine a benchmark ran on, for the line above its table: absolute figures mean nothing without it. */
final class MachineInfo {
    private MachineInfo() {}

    static String describe(String threads) throws IOException {
        long memKb = ProcStatus.memTotalKb();
        return String.format(Locale.ROOT, "%s; %d cores visible to the JVM; libtorch threads: %s; %s; %s %s (%s); %s %s; %s UTC",
                cpuModel(), Runtime.getRuntime().availableProcessors(), threads,
                memKb > 0 ? String.format(Locale.ROOT, "%.1f GiB RAM", memKb / 1048576.0) : "RAM unknown",
                System.getProperty("java.vm.name"), System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("os.name"), System.getProperty("os.arch"),
                ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")));
    }

    private static String cpuModel() throws IOException {
        Path cpuinfo = Paths.get("/proc/cpuinfo");
        if (Files.exists(cpuinfo)) {
            for (String line : Files.readAllLines(cpuinfo)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        }
        return "CPU model unknown (" + System.getProperty("os.arch") + ")";
    }
}

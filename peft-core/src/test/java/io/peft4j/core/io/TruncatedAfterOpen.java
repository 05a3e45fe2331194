package io.peft4j.core.io;

import ai.djl.ndarray.NDManager;
import io.peft4j.core.Compute;

import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Child-JVM entry point for {@link TruncatedFileTest}: reads a safetensors file, truncates it to
 * its header, then loads a tensor. Prints {@code CAUGHT <message>} and exits 0 when the load fails
 * with the expected exception; a SIGBUS would end the process by a signal instead.
 */
public final class TruncatedAfterOpen {
    private TruncatedAfterOpen() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        long keep = Long.parseLong(args[1]);
        boolean toNative = "native".equals(args[2]);
        SafeTensorsFile read = SafeTensors.read(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(keep);
        }
        try (NDManager m = Compute.newManager()) {
            if (toNative) {
                read.get("w").toFloat32NDArray(m).toFloatArray();
            } else {
                read.get("w").toFloatArray();
            }
            System.out.println("LOADED");
            System.exit(3);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof TensorFormatException) {
                System.out.println("CAUGHT " + e.getCause().getMessage());
                System.exit(0);
            }
            throw e;
        }
    }
}

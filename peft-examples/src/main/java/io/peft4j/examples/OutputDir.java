package io.peft4j.examples;

import io.peft4j.core.io.FileTrees;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Where an example writes its adapter: the folder given as its first argument, kept; or else a
 * temporary folder that is deleted when the example ends, so that runs leave nothing behind in /tmp.
 */
public final class OutputDir implements AutoCloseable {
    private final Path path;
    private final boolean temporary;

    private OutputDir(Path path, boolean temporary) {
        this.path = path;
        this.temporary = temporary;
    }

    public static OutputDir of(String[] args, String prefix) throws IOException {
        return args.length > 0 ? new OutputDir(Paths.get(args[0]), false)
                : new OutputDir(Files.createTempDirectory(prefix), true);
    }

    public Path path() {
        return path;
    }

    /** How to name the folder in the example's output. */
    public String describe() {
        return temporary ? path + " (deleted at the end; pass a folder as the first argument to keep it)" : path.toString();
    }

    @Override
    public void close() {
        if (!temporary) {
            return;
        }
        try {
            FileTrees.delete(path);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not delete the temporary folder " + path, e);
        }
    }
}

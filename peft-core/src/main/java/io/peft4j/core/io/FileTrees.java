package io.peft4j.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Deleting a folder with everything in it. Written here, not taken from commons-io, because the
 * core's users should not get a dependency for one walk.
 */
public final class FileTrees {
    private FileTrees() {}

    /** Deletes {@code root} and everything below it; a path that does not exist is left as it is. */
    public static void delete(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            // Deepest first, so that every folder is empty when its turn comes.
            all = s.sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        }
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
    }
}

package io.peft4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/** A tensor file that cannot be read as its format requires; the message names the file and the fault. */
public class TensorFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public TensorFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public TensorFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}

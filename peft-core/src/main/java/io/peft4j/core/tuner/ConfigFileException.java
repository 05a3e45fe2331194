package io.peft4j.core.tuner;

import java.io.IOException;
import java.nio.file.Path;

/** A JSON config file that cannot be read as one; the message names the file and the fault. */
public class ConfigFileException extends IOException {
    private static final long serialVersionUID = 1L;

    public ConfigFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }

    public ConfigFileException(Path file, String problem) {
        super(file + ": " + problem);
    }
}

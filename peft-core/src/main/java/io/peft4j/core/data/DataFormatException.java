package io.peft4j.core.data;

import java.io.IOException;

/** A data file that does not hold what a reader expects; the message names the file, line and field. */
public class DataFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

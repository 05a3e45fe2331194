package io.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/**
 * The stories260K fixture (a real pretrained Llama, see its README.md and LICENSE in the test
 * resources) and its {@code expected.json}, written by two independent reference implementations.
 */
public final class Stories260K {
    public static final String RESOURCE = "models/stories260K/config.json";

    private Stories260K() {}

    /** The transformers directory, from the test classpath. */
    public static Path dir() {
        URL url = Stories260K.class.getClassLoader().getResource(RESOURCE);
        if (url == null) {
            throw new IllegalStateException("test resource " + RESOURCE + " not on the classpath");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JsonNode expected() {
        try {
            return new ObjectMapper().readTree(dir().resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).longValue();
        }
        return out;
    }

    public static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).doubleValue();
        }
        return out;
    }

    /** {@code [1] + ids}: a story as it was trained and scored, BOS first. */
    public static long[] withBos(long[] ids) {
        long[] out = new long[ids.length + 1];
        out[0] = 1;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }
}

package io.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The stories260K fixture (a real pretrained Llama, see its README.md and LICENSE in the test
 * resources) and its {@code expected.json}, written by two independent reference implementations.
 */
public final class Stories260K {
    /** Looked up by expected.json, which only peft-core's test resources hold (peft-examples ships the model without it). */
    public static final String RESOURCE = "models/stories260K/expected.json";

    private Stories260K() {}

    private static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "generation_config.json", "expected.json"};
    private static Path extracted;

    /**
     * The transformers directory, from the test classpath: the resource folder itself, or (when the
     * resources sit in peft-core's test jar, as other modules see them under {@code mvn verify}) a copy
     * extracted once per JVM into a temporary folder deleted at exit.
     */
    public static synchronized Path dir() {
        URL url = Stories260K.class.getClassLoader().getResource(RESOURCE);
        if (url == null) {
            throw new IllegalStateException("test resource " + RESOURCE + " not on the classpath");
        }
        if ("file".equals(url.getProtocol())) {
            try {
                return Path.of(url.toURI()).getParent();
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        if (extracted == null) {
            extracted = extract();
        }
        return extracted;
    }

    private static Path extract() {
        try {
            Path dir = Files.createTempDirectory("stories260K");
            dir.toFile().deleteOnExit();
            String folder = RESOURCE.substring(0, RESOURCE.lastIndexOf('/') + 1);
            for (String f : FILES) {
                try (InputStream in = Stories260K.class.getClassLoader().getResourceAsStream(folder + f)) {
                    if (in == null) {
                        throw new IllegalStateException("test resource " + folder + f + " not on the classpath");
                    }
                    Path target = dir.resolve(f);
                    Files.copy(in, target);
                    target.toFile().deleteOnExit();
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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

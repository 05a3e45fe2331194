package io.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The README's API example is {@link QuickStart}, compiled with the project: the README's java block
 * must be the file's marked region word for word, and the program must run and do what it says.
 */
class QuickStartTest {
    private static final Path ROOT = Path.of("..");

    @TempDir
    Path dir;

    @Test
    void readmeShowsQuickStartVerbatim() throws Exception {
        String source = Files.readString(ROOT.resolve("peft-examples/src/main/java/io/peft4j/examples/QuickStart.java"));
        String region = source.substring(source.indexOf("// README-BEGIN\n") + "// README-BEGIN\n".length(),
                source.indexOf("// README-END"));
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "README has a java block");
        assertEquals(region.strip(), m.group(1).strip(), "README's first java block is QuickStart.java's README region");
    }

    @Test
    void trainsSavesReloadsAndPredicts() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        for (String split : new String[] {"train.jsonl", "test.jsonl"}) {
            try (InputStream in = getClass().getClassLoader().getResourceAsStream("datasets/topics/" + split)) {
                Files.copy(in, data.resolve(split));
            }
        }
        Path adapter = dir.resolve("adapter");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(new String[] {data.toString(), adapter.toString()});
        } finally {
            System.setOut(old);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        old.print(printed);
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_config.json")), "adapter config saved");
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_model.safetensors")), "adapter weights saved");
        Matcher acc = Pattern.compile("accuracy (\\d\\.\\d+)").matcher(printed);
        assertTrue(acc.find(), printed);
        // The shipped set's test split reaches 0.9875 with these settings; 0.9 leaves room for libtorch's
        // thread-count-dependent float sums.
        assertTrue(Double.parseDouble(acc.group(1)) >= 0.9, printed);
        // A sentence about football, labelled by a person, not by the model.
        assertTrue(Pattern.compile("(?m)^sports \\(0\\.\\d+\\)$").matcher(printed).find(), printed);
    }
}

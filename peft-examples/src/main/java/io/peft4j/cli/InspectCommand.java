package io.peft4j.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.AdapterFiles;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code peft4j inspect <adapter-dir>}: an adapter's config, its tensors and its size, without a base model. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print an adapter's config, its tensors (name, shape, dtype), its trainable parameters and file size.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<adapter-dir>", description = "a folder with adapter_config.json and adapter_model.safetensors")
    private Path adapterDir;

    @Override
    public Integer call() throws IOException {
        Path configFile = adapterDir.resolve(AdapterFiles.CONFIG_FILE);
        Path weightsFile = adapterDir.resolve(AdapterFiles.WEIGHTS_FILE);
        for (Path f : new Path[] {configFile, weightsFile}) {
            if (!Files.isRegularFile(f)) {
                throw new IOException(adapterDir + ": no " + f.getFileName()
                        + " (an adapter folder holds " + AdapterFiles.CONFIG_FILE + " and " + AdapterFiles.WEIGHTS_FILE + ")");
            }
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode config;
        try {
            config = json.readTree(configFile.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(configFile + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        // Sorted as HF PEFT's safetensors files are, so two adapters compare line by line.
        Map<String, Tensor> tensors = new TreeMap<>(AdapterFiles.readTensors(adapterDir));

        PrintWriter out = spec.commandLine().getOut();
        out.println(AdapterFiles.CONFIG_FILE + ":");
        out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        out.println();
        out.println(AdapterFiles.WEIGHTS_FILE + ": " + tensors.size() + " tensors");
        long parameters = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            out.println("  " + e.getKey() + "  " + Arrays.toString(t.shape()) + "  " + t.dtype());
            parameters += t.numel();
        }
        out.println();
        out.printf("trainable parameters: %,d%n", parameters);
        out.printf("file size: %,d bytes%n", Files.size(weightsFile));
        out.flush();
        return 0;
    }
}

package io.peft4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.quant.QuantizedLinear;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code peft4j merge}: folds an adapter into its base model and writes a transformers directory
 * ({@code config.json}, {@code model.safetensors} under transformers' key names, tokenizer and
 * generation files copied) that loads as any other, in peft4j or in transformers.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge an adapter into its base model and write a transformers model directory.")
final class MergeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<dir>", description = "transformers model directory of the base model")
    private Path model;

    @Option(names = "--adapter", required = true, paramLabel = "<dir>", description = "adapter directory (HF PEFT format)")
    private Path adapter;

    @Option(names = "--output", required = true, paramLabel = "<dir>", description = "the merged transformers directory to write")
    private Path output;

    @Override
    public Integer call() throws IOException {
        ModelDirectory dir = new ModelDirectory(model, "--model");
        if (Files.exists(output) && Files.isSameFile(output, model)) {
            throw new IOException("--output " + output + ": is the --model directory; merging writes a new directory");
        }
        Map<String, Tensor> weights = new LinkedHashMap<>();
        try (PeftModel peftModel = dir.loadModel()) {
            Peft.load(peftModel, adapter).mergeAndUnload();
            // The tree's names are transformers' names; a tied head is listed once (under the embedding), and
            // the copied config.json's tie_word_embeddings ties it again on load, as transformers saves it.
            for (NamedParameter p : peftModel.namedParameters()) {
                weights.put(p.name(), Tensor.of(p.parameter().getArray()));
            }
            // QLoRA merges into the 4-bit weights (as HF PEFT does); a transformers directory holds them dense.
            for (Map.Entry<String, Module> e : peftModel.namedModules().entrySet()) {
                if (e.getValue() instanceof QuantizedLinear) {
                    try (NDManager sm = peftModel.manager().newSubManager()) {
                        NDArray w = ((QuantizedLinear) e.getValue()).dequantizedWeight(sm);
                        weights.put(e.getKey() + ".weight", Tensor.of(w));
                    }
                }
            }
        }
        Files.createDirectories(output);
        SafeTensors.write(output.resolve(ModelDirectory.WEIGHTS), weights, Map.of("format", "pt"));
        for (String name : ModelDirectory.COPIED_FILES) {
            Path from = dir.path().resolve(name);
            if (Files.isRegularFile(from)) {
                AtomicFiles.write(output.resolve(name), o -> Files.copy(from, o));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("merged model written to " + output + " (" + weights.size() + " tensors)");
        out.flush();
        return 0;
    }
}

package io.peft4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.Compute;
import io.peft4j.core.Peft;
import io.peft4j.core.PeftModel;
import io.peft4j.core.generate.GenerationConfig;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.generate.Generator;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.lora.InitLoraWeights;
import io.peft4j.lora.LoraConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The command line on the real stories260K Llama (see its README in peft-core's test resources):
 * expected texts and ids come from {@code expected.json} (written by transformers and llama2.c) or
 * from HF PEFT's naming and closed-form parameter counts, never from the commands themselves.
 */
class Peft4jCliTest {
    private record Result(int code, String out, String err) { }

    private static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Peft4jCli.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static String model() {
        return Stories260K.dir().toString();
    }

    /** A LoRA adapter whose A and B both start random, so that it changes what the model generates. */
    private static Path randomLoraAdapter(Path dir) throws Exception {
        Compute.seed(11);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(InitLoraWeights.RANDOM).build())
                    .save(dir);
        }
        return dir;
    }

    @Test
    void inspectListsTheLoraKeysWithShapesAndTheTrainableCount(@TempDir Path tmp) throws Exception {
        Path adapter = randomLoraAdapter(tmp.resolve("adapter"));
        Result r = cli("inspect", adapter.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"peft_type\" : \"LORA\""), r.out());
        // HF PEFT's keys for a causal LM; q_proj is 64 -> 64, v_proj 64 -> 32 (4 KV heads of 8 dims).
        for (int i = 0; i < 5; i++) {
            String layer = "base_model.model.model.layers." + i + ".self_attn.";
            assertTrue(r.out().contains(layer + "q_proj.lora_A.weight  [4, 64]  F32"), r.out());
            assertTrue(r.out().contains(layer + "q_proj.lora_B.weight  [64, 4]  F32"), r.out());
            assertTrue(r.out().contains(layer + "v_proj.lora_A.weight  [4, 64]  F32"), r.out());
            assertTrue(r.out().contains(layer + "v_proj.lora_B.weight  [32, 4]  F32"), r.out());
        }
        assertTrue(r.out().contains("20 tensors"), r.out());
        // r * (in + out) per projection, five layers: 5 * (4 * 128 + 4 * 96) = 4,480.
        assertTrue(r.out().contains("trainable parameters: 4,480"), r.out());
        long size = Files.size(adapter.resolve("adapter_model.safetensors"));
        assertTrue(r.out().contains(String.format("file size: %,d bytes", size)), r.out());
    }

    @Test
    void inspectOfAFolderWithoutAdapterFilesFailsNamingTheFile(@TempDir Path tmp) {
        Result r = cli("inspect", tmp.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("adapter_config.json"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, cli("generate", "--prompt", "x").code());          // --model missing
        assertEquals(2, cli("train", "--model", model(), "--data", "d.jsonl", "--method", "prefix", "--output", "o").code());
        assertEquals(2, cli("frobnicate").code());
    }

    @Test
    void greedyGenerationStreamsTheReferenceContinuation() {
        JsonNode prompt = Stories260K.expected().get("prompts").get(0);
        String text = prompt.get("text").asText();
        String expected = prompt.get("greedy").get("text").asText();
        // 48 new tokens as in expected.json; its continuation holds no eos (id 2), so none stops it early.
        Result r = cli("generate", "--model", model(), "--prompt", text, "--max-new-tokens", "48");
        assertEquals(0, r.code(), r.err());
        assertEquals(expected + System.lineSeparator(), r.out());

        // Without the cache (each step reruns the prefix, so fewer tokens): the start of prompt 1's text, whose
        // continuation begins with a space (" box with a big box...") that must be kept.
        JsonNode other = Stories260K.expected().get("prompts").get(1);
        Result uncached = cli("generate", "--model", model(), "--prompt", other.get("text").asText(),
                "--max-new-tokens", "12", "--no-cache");
        assertEquals(0, uncached.code(), uncached.err());
        String start = uncached.out().stripTrailing();
        assertTrue(start.length() > 20 && start.startsWith(" ")
                && other.get("greedy").get("text").asText().startsWith(start), start);
    }

    @Test
    void trainingTwoStepsWritesTheAdapterAndItsHistory(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("train.jsonl");
        Files.writeString(data, String.join("\n",
                "{\"prompt\": \"Once upon a time\", \"completion\": \" there was a cat named Tom.\"}",
                "{\"prompt\": \"One day\", \"completion\": \" Tom the cat went to the park.\"}",
                "{\"prompt\": \"Lily saw\", \"completion\": \" a cat named Tom.\"}",
                "{\"prompt\": \"The dog\", \"completion\": \" played with Tom the cat.\"}") + "\n");
        Path out = tmp.resolve("adapter");
        Result r = cli("train", "--model", model(), "--data", data.toString(), "--method", "lora",
                "--r", "4", "--alpha", "8", "--targets", "q_proj,v_proj", "--epochs", "1", "--batch-size", "2",
                "--lr", "1e-2", "--max-length", "32", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("adapter_config.json")));
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        // Four examples in batches of two: a header and two steps.
        List<String> history = Files.readAllLines(out.resolve("history.csv"));
        assertEquals(3, history.size(), String.join("\n", history));
        Result inspected = cli("inspect", out.toString());
        assertTrue(inspected.out().contains("\"task_type\" : \"CAUSAL_LM\""), inspected.out());
        assertTrue(inspected.out().contains("base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight  [32, 4]"),
                inspected.out());
    }

    @Test
    void aMergedDirectoryGeneratesAsTheUnmergedAdapter(@TempDir Path tmp) throws Exception {
        Path adapter = randomLoraAdapter(tmp.resolve("adapter"));
        Path merged = tmp.resolve("merged");
        Result m = cli("merge", "--model", model(), "--adapter", adapter.toString(), "--output", merged.toString());
        assertEquals(0, m.code(), m.err());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"}) {
            assertTrue(Files.isRegularFile(merged.resolve(f)), f);
        }

        GenerationConfig greedy = GenerationConfig.greedy(24);
        long[][] prompt = {Stories260K.longs(Stories260K.expected().get("prompts").get(1).get("ids"))};
        long[] unmergedIds;
        try (PeftModel base = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.load(base, adapter);
            unmergedIds = Generator.builder(base).config(greedy).build().generate(prompt).tokens(0);
        }
        long[] mergedIds;
        try (PeftModel loaded = ModelFamilies.loadBaseModel(merged, "merged")) {
            mergedIds = Generator.builder(loaded).config(greedy).build().generate(prompt).tokens(0);
        }
        assertArrayEquals(unmergedIds, mergedIds);
        long[] baseIds = Stories260K.longs(Stories260K.expected().get("prompts").get(1).get("greedy").get("ids"));
        assertNotEquals(List.of(baseIds), List.of(java.util.Arrays.copyOf(mergedIds, Math.min(mergedIds.length, baseIds.length))),
                "the random adapter should change the base model's continuation");

        String text = Stories260K.expected().get("prompts").get(1).get("text").asText();
        Result viaAdapter = cli("generate", "--model", model(), "--adapter", adapter.toString(), "--prompt", text,
                "--max-new-tokens", "24");
        Result viaMerged = cli("generate", "--model", merged.toString(), "--prompt", text, "--max-new-tokens", "24");
        assertEquals(0, viaMerged.code(), viaMerged.err());
        assertEquals(viaAdapter.out(), viaMerged.out());
    }

    @Test
    void aMergedQloraAdapterIsWrittenDenseWithTheBaseCheckpointsKeysAndShapes(@TempDir Path tmp) throws Exception {
        Path adapter = tmp.resolve("qlora");
        Compute.seed(13);
        try (PeftModel model = ModelFamilies.loadBaseModel(Stories260K.dir(), "stories260K")) {
            Peft.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).quantization(QuantizationConfig.nf4()).build()).save(adapter);
        }
        Path merged = tmp.resolve("merged");
        Result m = cli("merge", "--model", model(), "--adapter", adapter.toString(), "--output", merged.toString());
        assertEquals(0, m.code(), m.err());
        // The base checkpoint as transformers wrote it: the merged file must hold the same names and shapes, in float32.
        Map<String, Tensor> base = SafeTensors.read(Stories260K.dir().resolve("model.safetensors")).tensors();
        Map<String, Tensor> out = SafeTensors.read(merged.resolve("model.safetensors")).tensors();
        Map<String, List<Long>> want = new TreeMap<>();
        base.forEach((k, t) -> want.put(k, shape(t)));
        Map<String, List<Long>> got = new TreeMap<>();
        out.forEach((k, t) -> got.put(k, shape(t)));
        assertEquals(want, got);
        out.values().forEach(t -> assertEquals(DType.F32, t.dtype()));
        try (PeftModel loaded = ModelFamilies.loadBaseModel(merged, "merged")) {
            // The fixture's README: 260,032 parameters (tied head counted once).
            assertEquals(260_032L, loaded.trainableReport().total());
        }
    }

    private static List<Long> shape(Tensor t) {
        return java.util.Arrays.stream(t.shape()).boxed().toList();
    }
}

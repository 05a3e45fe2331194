package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.model.ModelFamilies;
import io.peft4j.core.model.llama.Llama;
import io.peft4j.core.model.llama.Stories260K;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.quant.BnbCheckpoint;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.tuner.BaseQuantization;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * QLoRA on decoder checkpoints that are 4-bit from the start: a transformers bitsandbytes directory
 * (stories260K quantized and saved in bitsandbytes' layout here), and a float checkpoint quantized while it
 * loads with float16 embeddings. In both the quantized layers stay as loaded (nothing is quantized twice),
 * the adapters train in float32 on top of them, and a training step lowers the loss.
 */
class QLoraDecoderCheckpointTest {
    /** Every linear layer of stories260K but the tied head. */
    private static final int LINEAR_LAYERS = 35;

    @TempDir
    Path dir;

    @Test
    void qloraOnABitsandbytesDirectory() throws Exception {
        try (PeftModel mem = Llama.causalLm(Stories260K.dir(), "stories260K")) {
            ModelQuantizer.quantizeLinears(mem, QuantizationConfig.nf4(), name -> !name.equals("lm_head"));
            BnbCheckpoint.save(mem, "", dir.resolve("model.safetensors"));
        }
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(Stories260K.dir().resolve("config.json").toFile());
        config.set("quantization_config", BaseQuantization.toJson(QuantizationConfig.nf4()));
        Files.writeString(dir.resolve("config.json"), config.toString());
        try (PeftModel model = ModelFamilies.loadBaseModel(dir, "stories260K-bnb-4bit")) {
            trainsOnTopOfTheQuantizedLayers(model);
        }
    }

    @Test
    void qloraOnAModelQuantizedWhileLoading() throws Exception {
        DecoderLoadOptions options = DecoderLoadOptions.builder().frozenWeights(DataType.FLOAT16)
                .quantization(QuantizationConfig.nf4()).build();
        try (PeftModel model = Llama.causalLm(Stories260K.dir(), "stories260K", options)) {
            assertEquals(DataType.FLOAT16, model.parameter("model.embed_tokens.weight").parameter().getArray().getDataType());
            trainsOnTopOfTheQuantizedLayers(model);
            assertEquals(DataType.FLOAT16, model.parameter("model.embed_tokens.weight").parameter().getArray().getDataType(),
                    "the frozen embedding stays float16 through training");
        }
    }

    private static void trainsOnTopOfTheQuantizedLayers(PeftModel model) {
        Compute.seed(11);
        assertEquals(LINEAR_LAYERS, ModelQuantizer.quantizedLayers(model).size());
        LoraModel lora = QLora.wrap(model, LoraConfig.builder().r(4).loraAlpha(8).allLinear().build());
        assertEquals(LINEAR_LAYERS, ModelQuantizer.quantizedLayers(model).size(), "the loaded layers are kept, not requantized");
        long trainable = 0;
        for (NamedParameter p : model.trainableParameters()) {
            assertTrue(p.name().contains("lora_"), p.name());
            assertEquals(DataType.FLOAT32, p.parameter().getArray().getDataType(), p.name());
            trainable += p.size();
        }
        // r * (in + out) over the 7 projections of 5 layers: q 64+64, k 64+32, v 64+32, o 64+64, gate/up 64+172, down 172+64.
        assertEquals(5L * 4 * (128 + 96 + 96 + 128 + 3 * 236), trainable);
        Batches data = stories();
        float before = loss(model, data);
        TrainingConfig one = TrainingConfig.builder().epochs(1).batchSize(3).learningRate(1e-2f).progressBar(false).build();
        new Trainer(model, new CausalLanguageModeling(), one).fit(data, null);
        float after = loss(model, data);
        assertTrue(after < before, "loss after one step " + after + " should be below " + before);
        assertTrue(lora != null);
    }

    private static float loss(PeftModel model, Batches data) {
        try (NDManager m = model.manager().newSubManager()) {
            return new CausalLanguageModeling().loss(model, data.batch(m, new int[] {0, 1, 2}), false).getFloat();
        }
    }

    /** The three reference stories of stories260K, {@code [1] + ids}. */
    private static Batches stories() {
        JsonNode stories = Stories260K.expected().get("cross_entropy").get("stories");
        long[][] seqs = new long[stories.size()][];
        for (int s = 0; s < seqs.length; s++) {
            seqs[s] = Stories260K.withBos(Stories260K.longs(stories.get(s).get("ids")));
        }
        int t = seqs[0].length;
        return new Batches() {
            @Override
            public int size() {
                return seqs.length;
            }

            @Override
            public Batch batch(NDManager m, int[] indices) {
                long[] flat = new long[indices.length * t];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(seqs[indices[i]], 0, flat, i * t, t);
                }
                var ids = m.create(flat, new Shape(indices.length, t));
                return Batch.builder(indices.length).put(Batch.INPUT_IDS, ids).put(Batch.LABELS, ids).build();
            }
        };
    }
}

package io.peft4j.examples;

import io.peft4j.core.Compute;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.quant.BnbCheckpoint;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.task.Metrics;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.LoraModel;
import io.peft4j.lora.QLora;
import io.peft4j.lora.QuantizedMerge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * QLoRA on all-MiniLM-L6-v2 with the LoRA example's data, adapter and training: every linear layer
 * of the encoder is stored in NF4 with double quantization, the classifier stays float32 and trains
 * in full. Prints the model's weight bytes before and after quantizing and the test accuracy, saves
 * the adapter (LoRA's files) and the 4-bit base in bitsandbytes' layout, loads both back, and merges
 * the adapter into a float32 model.
 *
 * <p>Argument: the directory to save to (default: a new temporary directory).
 */
public final class QLoraExample {
    private QLoraExample() {}

    public static void main(String[] args) throws Exception {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        BertCheckpoint checkpoint = pretrained.checkpoint();
        QuantizationConfig quant = QuantizationConfig.nf4();
        try (OutputDir out = OutputDir.of(args, "peft4j-qlora");
                TextTokenizer tokenizer = pretrained.tokenizer(LoraExample.MAX_TOKENS)) {
            Path adapterDir = out.path().resolve("adapter");
            Path baseDir = out.path().resolve("minilm-bnb-4bit");
            TopicsDataset data = TopicsDataset.load(tokenizer);
            int numLabels = data.labels().size();
            System.out.printf(Locale.ROOT, "Dataset: %d train / %d test sentences; base model %s; %s%n",
                    data.train().size(), data.test().size(), pretrained.hubName(), quant);
            Compute.seed(LoraExample.SEED);
            try (PeftModel model = Bert.sequenceClassifier(checkpoint, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                long before = model.weightBytes();
                // QLora.wrap does these two steps in one; apart, the 4-bit base can be saved on its own.
                ModelQuantizer.quantizeLinears(model, quant.toBuilder().skipModules("classifier").build());
                saveQuantizedBase(model, checkpoint, baseDir);
                // Recorded as quantization_config beside the adapter, so any loader quantizes a float base the same way.
                LoraModel lora = LoraModel.wrap(model, LoraExample.loraConfig().toBuilder().quantization(quant).build());
                System.out.printf(Locale.ROOT, "Model weights: %.1f MB float32 -> %.1f MB with %d linear layers in 4 bits%n",
                        before / 1e6, model.weightBytes() / 1e6, ModelQuantizer.quantizedLayers(model).size());
                System.out.println(model.trainableReport());
                Trainer trainer = new Trainer(model, LoraExample.trainingConfig());
                System.out.printf(Locale.ROOT, "Test accuracy before training: %.4f%n", trainer.evaluate(data.test()).get(Metrics.ACCURACY));
                long t0 = System.nanoTime();
                trainer.fit(data.train(), data.test());
                System.out.printf(Locale.ROOT, "Test accuracy after training:  %.4f  (%.1f s)%n", trainer.evaluate(data.test()).get(Metrics.ACCURACY),
                        (System.nanoTime() - t0) / 1e9);
                lora.save(adapterDir);
                System.out.println("Adapter and 4-bit base (bitsandbytes layout) saved to " + out.describe());
            }

            BertCheckpoint fourBit = BertCheckpoint.readHfDirectory(baseDir);
            try (PeftModel fresh = Bert.sequenceClassifier(fourBit, pretrained.hubName(), numLabels, Pooling.MEAN)) {
                LoraModel lora = LoraModel.load(fresh, adapterDir, false);
                Trainer eval = new Trainer(fresh, TrainingConfig.builder().batchSize(32).build());
                System.out.printf(Locale.ROOT, "Reloaded (4-bit base from its file + adapter): test accuracy %.4f%n",
                        eval.evaluate(data.test()).get(Metrics.ACCURACY));
                lora.mergeAndUnload(QuantizedMerge.DEQUANTIZE);
                System.out.printf(Locale.ROOT, "Merged into a float32 model (%.1f MB): test accuracy %.4f%n",
                        fresh.weightBytes() / 1e6, eval.evaluate(data.test()).get(Metrics.ACCURACY));
            }
        }
    }

    /** The 4-bit model as a transformers directory: config.json and model.safetensors in bitsandbytes' layout. */
    private static void saveQuantizedBase(PeftModel model, BertCheckpoint checkpoint, Path dir) throws IOException {
        Files.createDirectories(dir);
        BnbCheckpoint.save(model, "", dir.resolve("model.safetensors"));
        AtomicFiles.writeString(dir.resolve("config.json"), checkpoint.config().toJson());
    }

    /**
     * Trains the example's adapter on MiniLM, with the base quantized by {@code quant} or in float32
     * when null, and returns the test accuracy: what the LoRA-vs-QLoRA comparison measures.
     */
    static double trainedAccuracy(QuantizationConfig quant) throws IOException {
        PretrainedEncoder pretrained = PretrainedEncoder.ALL_MINILM_L6_V2;
        try (TextTokenizer tokenizer = pretrained.tokenizer(LoraExample.MAX_TOKENS)) {
            TopicsDataset data = TopicsDataset.load(tokenizer);
            Compute.seed(LoraExample.SEED);
            try (PeftModel model = Bert.sequenceClassifier(pretrained.checkpoint(), pretrained.hubName(),
                    data.labels().size(), Pooling.MEAN)) {
                LoraConfig config = LoraExample.loraConfig();
                if (quant == null) {
                    LoraModel.wrap(model, config);
                } else {
                    QLora.wrap(model, config, quant);
                }
                Trainer trainer = new Trainer(model, LoraExample.trainingBuilder().progressBar(false).build());
                trainer.fit(data.train(), null);
                return trainer.evaluate(data.test()).get(Metrics.ACCURACY);
            }
        }
    }
}

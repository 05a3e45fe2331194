package io.peft4j.examples;

// README-BEGIN
import io.peft4j.core.Peft;
import io.peft4j.core.PeftAdapter;
import io.peft4j.core.PeftModel;
import io.peft4j.core.data.TextClassificationData;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.task.Evaluator;
import io.peft4j.core.task.SequenceClassification;
import io.peft4j.core.task.TextClassifier;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.lora.LoraConfig;

import java.nio.file.Path;

public final class QuickStart {
    /** args: a folder with train.jsonl and test.jsonl ({"text": "...", "label": "sports"} per line), an adapter folder. */
    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path adapterDir = Path.of(args[1]);
        PretrainedEncoder base = PretrainedEncoder.ALL_MINILM_L6_V2;   // weights from its Maven artifact
        try (TextTokenizer tokenizer = base.tokenizer(64)) {
            // Label ids follow the sorted label names of the training file; the test file must use the same.
            TextClassificationData train = TextClassificationData.read(data.resolve("train.jsonl"), tokenizer);
            TextClassificationData test = TextClassificationData.read(data.resolve("test.jsonl"), train.labelNames(), tokenizer);
            int numLabels = train.labelNames().size();

            LoraConfig config = LoraConfig.builder()
                    .r(8).loraAlpha(16).loraDropout(0.1f)
                    .targetModules("query", "value")
                    .modulesToSave("classifier")                    // the new head trains in full
                    .build();
            try (PeftModel model = Bert.sequenceClassifier(base, numLabels, Pooling.MEAN)) {  // bert.* + classifier
                PeftAdapter<LoraConfig> lora = Peft.wrap(model, config);
                System.out.println(model.trainableReport());        // trainable params: ... || trainable%: ...
                TrainingConfig training = TrainingConfig.builder()
                        .epochs(5).batchSize(16).learningRate(3e-3f).warmupRatio(0.1f).build();
                new Trainer(model, training).fit(train, test);       // progress bar: loss, examples/s
                System.out.println(Evaluator.evaluate(model, new SequenceClassification(), test));
                lora.save(adapterDir);                               // adapter_config.json + adapter_model.safetensors
            }

            // Later: onto a fresh base (an HF PEFT adapter for the same model loads the same way).
            try (PeftModel fresh = Bert.sequenceClassifier(base, numLabels, Pooling.MEAN)) {
                Peft.load(fresh, adapterDir).mergeAndUnload();       // plain BERT again, the update folded in
                TextClassifier classifier = new TextClassifier(fresh, tokenizer, train.labelNames());
                System.out.println(classifier.predict("The striker scored twice in the final minutes"));
            }
        }
    }
}
// README-END

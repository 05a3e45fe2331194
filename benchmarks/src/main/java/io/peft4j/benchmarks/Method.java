package io.peft4j.benchmarks;

import io.peft4j.core.PeftModel;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.freeze.FreezeStrategy;
import io.peft4j.core.strategy.full.FullFineTuning;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.LoraModel;

import java.io.IOException;
import java.nio.file.Path;

/** The fine-tuning methods the training benchmark compares, each with the learning rate it trains well at. */
enum Method {
    FULL("full fine-tuning", 1e-4f),
    FREEZE("freeze (classifier + last 2 layers)", 5e-4f),
    LORA_R4("LoRA r=4 (query, value)", 3e-3f),
    LORA_R8("LoRA r=8 (query, value)", 3e-3f),
    LORA_R16("LoRA r=16 (query, value)", 3e-3f);

    final String label;
    final float learningRate;

    Method(String label, float learningRate) {
        this.label = label;
        this.learningRate = learningRate;
    }

    /** Prepares the model; returns an object that saves the adapter. */
    Saver apply(PeftModel model, int numLayers) {
        switch (this) {
            case FULL: {
                FullFineTuning s = new FullFineTuning();
                FullFineTuningConfig c = new FullFineTuningConfig();
                s.apply(model, c, "default");
                return dir -> AdapterFiles.save(model, s, c, "default", dir);
            }
            case FREEZE: {
                FreezeStrategy s = new FreezeStrategy();
                FreezeConfig c = FreezeConfig.builder().modulesToTrain("classifier").lastLayers(2, numLayers).build();
                s.apply(model, c, "default");
                return dir -> AdapterFiles.save(model, s, c, "default", dir);
            }
            default: {
                int r = this == LORA_R4 ? 4 : this == LORA_R8 ? 8 : 16;
                LoraModel lora = LoraModel.wrap(model, LoraConfig.builder().r(r).loraAlpha(2 * r).loraDropout(0.1f)
                        .targetModules("query", "value").modulesToSave("classifier").taskType("SEQ_CLS").build());
                return lora::save;
            }
        }
    }

    interface Saver {
        void save(Path dir) throws IOException;
    }
}

package io.peft4j.benchmarks;

import io.peft4j.adapters.bottleneck.BottleneckConfig;
import io.peft4j.adapters.bottleneck.BottleneckModel;
import io.peft4j.adapters.ia3.Ia3Config;
import io.peft4j.adapters.ia3.Ia3Model;
import io.peft4j.adapters.prompt.PTuningConfig;
import io.peft4j.adapters.prompt.PromptTuningConfig;
import io.peft4j.core.Peft;
import io.peft4j.core.strategy.PeftConfig;
import io.peft4j.core.PeftModel;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.freeze.FreezeConfig;
import io.peft4j.core.strategy.freeze.FreezeStrategy;
import io.peft4j.core.strategy.full.FullFineTuning;
import io.peft4j.core.strategy.full.FullFineTuningConfig;
import io.peft4j.lora.LoraConfig;
import io.peft4j.lora.LoraModel;
import io.peft4j.lora.QLora;
import io.peft4j.core.quant.QuantType;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.train.TrainerCallback;
import io.peft4j.sparse.spiel.SpielConfig;
import io.peft4j.sparse.spiel.SpielModel;
import io.peft4j.sparse.spiel.SpielSchedule;

import io.peft4j.core.data.Batches;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.Trainer;
import io.peft4j.sparse.hft.HalfFineTuning;
import io.peft4j.sparse.hft.HftConfig;
import io.peft4j.sparse.hft.HftStrategy;
import io.peft4j.sparse.ltsft.LtSftConfig;
import io.peft4j.sparse.ltsft.LtSftStrategy;
import io.peft4j.sparse.ltsft.LtSftTraining;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;

/** The fine-tuning methods the training benchmark compares, each with the learning rate it trains well at. */
enum Method {
    FULL("full fine-tuning", 1e-4f),
    FREEZE("freeze (classifier + last 2 layers)", 5e-4f),
    LORA_R4("LoRA r=4 (query, value)", 3e-3f),
    LORA_R8("LoRA r=8 (query, value)", 3e-3f),
    LORA_R16("LoRA r=16 (query, value)", 3e-3f),
    QLORA_NF4_R8("QLoRA r=8 (query, value), NF4 + double quant", 3e-3f),
    QLORA_INT8_R8("QLoRA r=8 (query, value), INT8 rows", 3e-3f),
    SPIEL_AG("SpIEL-AG density 0.02 (every encoder linear)", 2e-3f),
    IA3("IA3 (key, value, output.dense)", 1e-2f),
    BOTTLENECK_PFEIFFER("bottleneck seq_bn (Pfeiffer), reduction 16", 3e-3f),
    BOTTLENECK_HOULSBY("bottleneck double_seq_bn (Houlsby), reduction 16", 3e-3f),
    PROMPT_TUNING_20("prompt tuning, 20 virtual tokens (+ classifier)", 3e-2f),
    P_TUNING_MLP_20("P-tuning MLP h=128, 20 virtual tokens (+ classifier)", 1e-2f),
    HFT("HFT (half per stage, a new half every epoch)", 1e-4f),
    LT_SFT("LT-SFT 1% (full phase + sparse phase, each the epochs given)", 1e-4f);

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
            case HFT: {
                HftStrategy s = new HftStrategy();
                s.apply(model, HFT_CONFIG, "default");
                return dir -> AdapterFiles.save(model, s, HFT_CONFIG, "default", dir);
            }
            case LT_SFT: {
                LtSftStrategy s = new LtSftStrategy();
                s.apply(model, LT_SFT_CONFIG, "default");
                return dir -> AdapterFiles.save(model, s, LT_SFT_CONFIG, "default", dir);
            }
            case QLORA_NF4_R8:
            case QLORA_INT8_R8: {
                QuantizationConfig q = this == QLORA_NF4_R8 ? QuantizationConfig.nf4()
                        : QuantizationConfig.builder().type(QuantType.INT8).build();
                LoraModel lora = QLora.wrap(model, loraConfig(8), q);
                return lora::save;
            }
            case SPIEL_AG: {
                SpielModel spiel = SpielModel.wrap(model, SpielConfig.builder().density(0.02f)
                        .modulesToSave("classifier").taskType("SEQ_CLS").build());
                return spiel::save;
            }
            case IA3: {
                Ia3Model ia3 = Ia3Model.wrap(model, Ia3Config.builder().modulesToSave("classifier").taskType("SEQ_CLS").build());
                return ia3::save;
            }
            case BOTTLENECK_PFEIFFER:
            case BOTTLENECK_HOULSBY: {
                BottleneckConfig.Builder b = this == BOTTLENECK_PFEIFFER ? BottleneckConfig.seqBn() : BottleneckConfig.doubleSeqBn();
                BottleneckModel bn = BottleneckModel.wrap(model, b.modulesToSave("classifier").taskType("SEQ_CLS").build());
                return bn::save;
            }
            case PROMPT_TUNING_20:
            case P_TUNING_MLP_20: {
                // SEQ_CLS: the classifier trains beside the virtual tokens, as in HF PEFT (and the LoRA rows' modules_to_save).
                PeftConfig c = this == PROMPT_TUNING_20
                        ? PromptTuningConfig.builder().numVirtualTokens(20).taskType("SEQ_CLS").build()
                        : PTuningConfig.builder().numVirtualTokens(20).encoderHiddenSize(128).taskType("SEQ_CLS").build();
                return Peft.wrap(model, c)::save;
            }
            default: {
                int r = this == LORA_R4 ? 4 : this == LORA_R8 ? 8 : 16;
                LoraModel lora = LoraModel.wrap(model, loraConfig(r));
                return lora::save;
            }
        }
    }

    private static final HftConfig HFT_CONFIG = HftConfig.builder().seed(42).build();
    private static final LtSftConfig LT_SFT_CONFIG = LtSftConfig.builder().density(0.01).build();

    /**
     * Trains as the method trains: HFT one stage per epoch (a new half each), LT-SFT its two phases of
     * {@code epochs} each, every other method one stage of {@code epochs}.
     */
    void fit(Trainer trainer, Batches train, int epochs) {
        if (this == HFT) {
            List<Stage> stages = new ArrayList<>();
            for (int e = 0; e < epochs; e++) {
                stages.add(Stage.builder("half-" + (e + 1), train).build());
            }
            trainer.addCallback(new HalfFineTuning(HFT_CONFIG)).fit(stages, null);
        } else if (this == LT_SFT) {
            trainer.addCallback(new LtSftTraining(LT_SFT_CONFIG)).fit(LtSftTraining.stages(train, epochs, epochs), null);
        } else {
            trainer.fit(train, null);
        }
    }

    /** The adapter all LoRA rows share, at rank r: QLoRA rows differ from LoRA r=8 only in the base. */
    private static LoraConfig loraConfig(int r) {
        return LoraConfig.builder().r(r).loraAlpha(2 * r).loraDropout(0.1f)
                .targetModules("query", "value").modulesToSave("classifier").taskType("SEQ_CLS").build();
    }

    /** The trainer callback the method needs (SpIEL's drop-and-regrow schedule), or null. */
    TrainerCallback callback(PeftModel model, long totalSteps) {
        return this == SPIEL_AG ? SpielSchedule.of(model, totalSteps) : null;
    }

    interface Saver {
        void save(Path dir) throws IOException;
    }
}

package io.peft4j.adapters;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.adapters.bottleneck.BottleneckConfig;
import io.peft4j.adapters.bottleneck.BottleneckModel;
import io.peft4j.adapters.bottleneck.NonLinearity;
import io.peft4j.adapters.ia3.Ia3Config;
import io.peft4j.adapters.ia3.Ia3Model;
import io.peft4j.core.PeftModel;
import io.peft4j.core.model.gpt2.Gpt2;
import io.peft4j.core.model.gpt2.Gpt2Config;
import io.peft4j.core.quant.ModelQuantizer;
import io.peft4j.core.quant.QuantizationConfig;
import io.peft4j.core.testing.StepLeakCheck;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

/**
 * IA3 (on float and NF4 bases: both feed-forward and output scaling run) and bottleneck adapters (every
 * optional part on: new layer norms, dropout, scaling, gelu_new's constants) leave no array behind per
 * training step: the arrays alive in the model's manager are the same after step 5 and step 24.
 */
class BottleneckIa3ManagedArraysTest {
    @Test
    void ia3StepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            Ia3Model.wrap(m, Ia3Config.builder().modulesToSave("classifier").build());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }

    @Test
    void ia3OnAQuantizedBaseFreesEveryArrayItMakes() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            ModelQuantizer.quantizeLinears(m, QuantizationConfig.builder().skipModules("classifier").build());
            Ia3Model.wrap(m, Ia3Config.builder().modulesToSave("classifier").build());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }

    @Test
    void bottleneckStepsFreeEveryArrayTheyMake() {
        try (PeftModel m = TinyBert.classifier(1, 0.1f)) {
            BottleneckModel.wrap(m, BottleneckConfig.doubleSeqBn().lnBefore(true).lnAfter(true).dropout(0.1f)
                    .scaling(2f).nonLinearity(NonLinearity.GELU_NEW).modulesToSave("classifier").build());
            StepLeakCheck.assertArrayCountFlat(m, 5);
        }
    }

    /** Decoders keep their residual adds inside the block (pre-norm): no BERT-style output to put an adapter after. */
    @Test
    void bottleneckAdaptersOnADecoderAreRefusedClearly() {
        Gpt2Config c = Gpt2Config.builder().vocabSize(20).nPositions(8).nEmbd(8).nLayer(1).nHead(2).build();
        try (PeftModel m = Gpt2.randomCausalLm(c, "random-gpt2")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BottleneckModel.wrap(m, BottleneckConfig.seqBn().build()));
            assertTrue(e.getMessage().contains("transformer.h.0.output") && e.getMessage().contains("BertOutput"),
                    e.getMessage());
            assertTrue(m.adapters().isEmpty());
        }
    }
}

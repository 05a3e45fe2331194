package io.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.testing.TinyBert;

import org.junit.jupiter.api.Test;

import java.util.List;

/** The trainer's {@code frozenWeightsDType(FLOAT16)} option on a classifier whose encoder is frozen. */
class FrozenFloat16TrainingTest {
    @Test
    void frozenLayerWeightsAreHeldInFloat16WhileTheHeadTrainsInFloat32() {
        try (PeftModel m = TinyBert.classifier(3, 0f)) {
            m.setAllTrainable(false);
            m.parameter("classifier.weight").parameter().freeze(false);
            m.parameter("classifier.bias").parameter().freeze(false);
            long frozenLayerWeightElements = 0;
            for (NamedParameter p : m.namedParameters()) {
                ModuleKind kind = p.module().kind();
                if (!p.isTrainable() && p.localName().equals("weight")
                        && (kind == ModuleKind.LINEAR || kind == ModuleKind.EMBEDDING)) {
                    frozenLayerWeightElements += p.size();
                }
            }
            long bytesBefore = m.weightBytes();
            TrainingConfig cfg = TrainingConfig.builder().epochs(4).batchSize(16).learningRate(1e-2f).seed(5)
                    .progressBar(false).frozenWeightsDType(DataType.FLOAT16).build();
            List<EpochResult> r = new Trainer(m, cfg).fit(TinyBert.task(128, 1), null);

            for (NamedParameter p : m.namedParameters()) {
                ModuleKind kind = p.module().kind();
                boolean layerWeight = p.localName().equals("weight")
                        && (kind == ModuleKind.LINEAR || kind == ModuleKind.EMBEDDING);
                DataType want = layerWeight && !p.isTrainable() ? DataType.FLOAT16 : DataType.FLOAT32;
                assertEquals(want, p.parameter().getArray().getDataType(), p.name());
            }
            // float16 takes 2 of float32's 4 bytes per element; nothing else changes.
            assertEquals(bytesBefore - 2 * frozenLayerWeightElements, m.weightBytes());
            assertTrue(r.get(r.size() - 1).meanLoss() < r.get(0).meanLoss(), "loss falls: " + r);
        }
    }
}

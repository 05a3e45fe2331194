package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batch;
import io.peft4j.core.data.Batches;
import io.peft4j.core.model.DecoderLoadOptions;
import io.peft4j.core.nn.MixedPrecision;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.task.CausalLanguageModeling;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.Test;

/**
 * Float16 frozen weights chosen at load and the trainer's {@code frozenWeightsDType} are one setting: a
 * model loaded so is trained as {@link MixedPrecision} says (frozen layer weights float16, trainable ones
 * float32) even under the trainer's default FLOAT32, so a weight that trains never trains in float16.
 */
class LlamaFloat16TrainingTest {
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

    @Test
    void trainableWeightsOfAFloat16LoadTrainInFloat32AndFrozenOnesStayFloat16() throws Exception {
        try (PeftModel model = Llama.causalLm(StoriesDtypesTest.dir("stories260K-f16"), "stories260K-f16",
                DecoderLoadOptions.builder().frozenWeights(DataType.FLOAT16).build())) {
            model.setAllTrainable(false);
            model.parameter("model.layers.4.mlp.down_proj.weight").parameter().freeze(false);
            model.parameter("model.norm.weight").parameter().freeze(false);
            TrainingConfig config = TrainingConfig.builder().epochs(1).batchSize(3).learningRate(1e-3f).progressBar(false).build();
            assertEquals(DataType.FLOAT32, config.frozenWeightsDType(), "the trainer's default");
            new Trainer(model, new CausalLanguageModeling(), config).fit(stories(), null);
            for (NamedParameter p : model.namedParameters()) {
                DataType want = MixedPrecision.isLayerWeight(p) && !p.isTrainable() ? DataType.FLOAT16 : DataType.FLOAT32;
                assertEquals(want, p.parameter().getArray().getDataType(), p.name());
            }
        }
    }
}

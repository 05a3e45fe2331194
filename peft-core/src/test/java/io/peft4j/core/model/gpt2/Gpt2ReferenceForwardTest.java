package io.peft4j.core.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.ForwardContext;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * Small random GPT-2 models written as transformers directories, loaded, and compared with
 * {@link ReferenceGpt2}, a plain-Java float64 forward of the same weights.
 */
class Gpt2ReferenceForwardTest {
    /** Float32 against float64 on values of order 1 through two blocks (observed error is about 1e-6). */
    private static final double TOLERANCE = 2e-4;
    private static final long[] IDS = {3, 17, 5, 29, 0, 11, 8};

    @TempDir
    Path dir;

    /** As GPT2LMHeadModel saves it: prefixed keys, tied head, one model.safetensors, loaded through the family registry. */
    @Test
    void tiedHeadPrefixedKeys() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(12).nLayer(2).nHead(3).build();
        check(c, RandomGpt2Directory.write(dir, c, 21, false, false, 0), true);
    }

    /** As the original OpenAI conversion saves it: bare keys plus the attn.bias/attn.masked_bias buffers, sharded. */
    @Test
    void bareKeysWithMaskBuffersSharded() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(32).nPositions(16).nEmbd(8).nLayer(2).nHead(2).build();
        check(c, RandomGpt2Directory.write(dir, c, 22, true, true, 2048), false);
    }

    /** An untied head, n_inner set, attention scaled by 1/(layer_idx + 1) and not by 1/sqrt(head_dim). */
    @Test
    void untiedHeadInnerWidthAndLayerScaling() throws Exception {
        Gpt2Config c = Gpt2Config.builder().vocabSize(40).nPositions(12).nEmbd(8).nLayer(2).nHead(4).nInner(20)
                .scaleAttnWeights(false).scaleAttnByInverseLayerIdx(true).tieWordEmbeddings(false).build();
        check(c, RandomGpt2Directory.write(dir, c, 23, false, false, 0), false);
    }

    private void check(Gpt2Config c, RandomGpt2Directory written, boolean viaRegistry) throws Exception {
        double[][] want = ReferenceGpt2.logits(c, written.weights, IDS);
        try (PeftModel model = viaRegistry ? ModelFamilies.loadBaseModel(dir, "random-gpt2") : Gpt2.causalLm(dir, "random-gpt2");
                NDManager m = model.manager().newSubManager()) {
            ForwardContext ctx = ForwardContext.builder().inputIds(m.create(IDS, new Shape(1, IDS.length))).build();
            float[] got = ((GPT2LMHeadModel) model.root()).logits(new ParameterStore(m, false), ctx, false).logits().toFloatArray();
            for (int t = 0; t < IDS.length; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    assertEquals(want[t][v], got[t * c.vocabSize() + v], TOLERANCE, "position " + t + " logit " + v);
                }
            }
        }
    }
}

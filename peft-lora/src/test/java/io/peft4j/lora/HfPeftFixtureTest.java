package io.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.BertCheckpoint;
import io.peft4j.core.model.bert.Pooling;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.strategy.AdapterFiles;
import io.peft4j.core.strategy.PeftConfig;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * An adapter directory written by hand exactly as HF PEFT (0.13 to 0.17) writes one for
 * {@code LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16, target_modules=["query","value"],
 * modules_to_save=["classifier"])} on all-MiniLM-L6-v2 with a 4-label BertForSequenceClassification
 * head: the config with every field HF PEFT writes (including ones peft4j does not know), and the
 * safetensors keys {@code get_peft_model_state_dict} produces. Loading it must give the model whose
 * query/value weights are {@code W + (alpha/r) B A} and whose classifier is the saved one, computed
 * here independently in double precision.
 */
class HfPeftFixtureTest {
    private static final int LAYERS = 6;
    private static final int HIDDEN = 384;
    private static final int R = 8;
    private static final float ALPHA = 16;
    private static final int LABELS = 4;

    private static BertCheckpoint checkpoint;

    @TempDir
    static Path dir;

    private static final String CONFIG = "{\n"
            + "  \"alpha_pattern\": {},\n"
            + "  \"auto_mapping\": null,\n"
            + "  \"base_model_name_or_path\": \"sentence-transformers/all-MiniLM-L6-v2\",\n"
            + "  \"bias\": \"none\",\n"
            + "  \"corda_config\": null,\n"
            + "  \"eva_config\": null,\n"
            + "  \"exclude_modules\": null,\n"
            + "  \"fan_in_fan_out\": false,\n"
            + "  \"inference_mode\": true,\n"
            + "  \"init_lora_weights\": true,\n"
            + "  \"layer_replication\": null,\n"
            + "  \"layers_pattern\": null,\n"
            + "  \"layers_to_transform\": null,\n"
            + "  \"loftq_config\": {},\n"
            + "  \"lora_alpha\": 16,\n"
            + "  \"lora_bias\": false,\n"
            + "  \"lora_dropout\": 0.1,\n"
            + "  \"megatron_config\": null,\n"
            + "  \"megatron_core\": \"megatron.core\",\n"
            + "  \"modules_to_save\": [\n    \"classifier\",\n    \"score\"\n  ],\n"
            + "  \"peft_type\": \"LORA\",\n"
            + "  \"peft_version\": \"0.17.1\",\n"
            + "  \"qalora_group_size\": 16,\n"
            + "  \"r\": 8,\n"
            + "  \"rank_pattern\": {},\n"
            + "  \"revision\": null,\n"
            + "  \"target_modules\": [\n    \"value\",\n    \"query\"\n  ],\n"
            + "  \"target_parameters\": null,\n"
            + "  \"task_type\": \"SEQ_CLS\",\n"
            + "  \"trainable_token_indices\": null,\n"
            + "  \"use_dora\": false,\n"
            + "  \"use_qalora\": false,\n"
            + "  \"use_rslora\": false,\n"
            + "  \"some_field_from_a_future_version\": {\"x\": 1}\n"
            + "}\n";

    private static final Map<String, Tensor> TENSORS = new LinkedHashMap<>();

    @BeforeAll
    static void writeFixture() throws Exception {
        checkpoint = PretrainedEncoder.ALL_MINILM_L6_V2.checkpoint();
        Random rnd = new Random(2024);
        for (int l = 0; l < LAYERS; l++) {
            for (String m : new String[] {"query", "value"}) {
                String p = "base_model.model.bert.encoder.layer." + l + ".attention.self." + m + ".";
                TENSORS.put(p + "lora_A.weight", Tensor.ofFloats(gaussian(rnd, R * HIDDEN, 0.05), R, HIDDEN));
                TENSORS.put(p + "lora_B.weight", Tensor.ofFloats(gaussian(rnd, HIDDEN * R, 0.05), HIDDEN, R));
            }
        }
        TENSORS.put("base_model.model.classifier.weight", Tensor.ofFloats(gaussian(rnd, LABELS * HIDDEN, 0.1), LABELS, HIDDEN));
        TENSORS.put("base_model.model.classifier.bias", Tensor.ofFloats(gaussian(rnd, LABELS, 0.1), LABELS));
        Files.writeString(dir.resolve("adapter_config.json"), CONFIG);
        SafeTensors.write(dir.resolve("adapter_model.safetensors"), TENSORS, Map.of("format", "pt"));
    }

    private static float[] gaussian(Random rnd, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rnd.nextGaussian() * std);
        }
        return out;
    }

    private static float[] logits(PeftModel model, TextTokenizer tok) {
        try (NDManager m = model.manager().newSubManager()) {
            NDList in = tok.encode(m, List.of("The striker scored twice in the final minutes.",
                    "Heavy rain is expected across the north tomorrow.", "A new phone with a faster chip was announced."));
            return model.forward(in, false).head().toFloatArray();
        }
    }

    @Test
    void hfPeftAdapterLoadsAndComputesWPlusScaledBA() throws Exception {
        PeftConfig cfg = AdapterFiles.readConfig(dir);
        LoraConfig lc = assertInstanceOf(LoraConfig.class, cfg);
        assertEquals(R, lc.r());
        assertEquals(0.1f, lc.loraDropout(), 1e-7);
        assertTrue(lc.unknownFields().has("some_field_from_a_future_version"), "unknown fields are kept");
        assertTrue(lc.toJson().has("some_field_from_a_future_version"), "and written back");

        try (TextTokenizer tok = PretrainedEncoder.ALL_MINILM_L6_V2.tokenizer(64);
                PeftModel loaded = Bert.sequenceClassifier(checkpoint, "sentence-transformers/all-MiniLM-L6-v2", LABELS, Pooling.MEAN);
                PeftModel expected = Bert.sequenceClassifier(checkpoint, "sentence-transformers/all-MiniLM-L6-v2", LABELS, Pooling.MEAN)) {
            AdapterFiles.load(loaded, dir, "default");
            assertEquals(12, LoraModel.of(loaded).layers().size());
            assertTrue(loaded.trainableParameters().isEmpty(), "inference_mode true: frozen, as PeftModel.from_pretrained does");

            // The independent reference: fold W + (alpha / r) B A in double precision into a plain model.
            double scaling = ALPHA / R;
            for (int l = 0; l < LAYERS; l++) {
                for (String m : new String[] {"query", "value"}) {
                    String module = "bert.encoder.layer." + l + ".attention.self." + m;
                    float[] a = TENSORS.get("base_model.model." + module + ".lora_A.weight").toFloatArray();
                    float[] b = TENSORS.get("base_model.model." + module + ".lora_B.weight").toFloatArray();
                    NamedParameter w = expected.parameter(module + ".weight");
                    float[] wv = w.parameter().getArray().toFloatArray();
                    float[] merged = new float[wv.length];
                    for (int o = 0; o < HIDDEN; o++) {
                        for (int i = 0; i < HIDDEN; i++) {
                            double ba = 0;
                            for (int k = 0; k < R; k++) {
                                ba += (double) b[o * R + k] * a[k * HIDDEN + i];
                            }
                            merged[o * HIDDEN + i] = (float) (wv[o * HIDDEN + i] + scaling * ba);
                        }
                    }
                    w.module().setParameterArray("weight", expected.manager().create(merged, w.parameter().getShape()));
                }
            }
            for (String p : new String[] {"weight", "bias"}) {
                NamedParameter c = expected.parameter("classifier." + p);
                c.module().setParameterArray(p, TENSORS.get("base_model.model.classifier." + p).toNDArray(expected.manager()));
            }
            float[] got = logits(loaded, tok);
            float[] want = logits(expected, tok);
            // Unmerged (x W^T + s x A^T B^T) against merged float32 weights: rounding differs by a few
            // ulps per layer, compounded over 6 layers; logits are O(0.1), so 1e-5 absolute is tight.
            assertTrue(LoraFixtures.maxAbsDiff(got, want) < 1e-5, "max diff " + LoraFixtures.maxAbsDiff(got, want));

            // Saving gives back exactly the keys HF PEFT wrote.
            Path again = dir.resolve("resaved");
            LoraModel.of(loaded).save(again);
            assertEquals(new TreeSet<>(TENSORS.keySet()),
                    new TreeSet<>(SafeTensors.read(again.resolve("adapter_model.safetensors")).tensors().keySet()));
        }
    }
}

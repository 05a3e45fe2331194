package io.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Single-text prediction on all-MiniLM-L6-v2 (with a fresh 3-class head). */
class PredictionTest {
    private static final PretrainedEncoder MINILM = PretrainedEncoder.ALL_MINILM_L6_V2;
    private static final List<String> TEXTS = List.of("The match ended in a draw.", "Stocks fell sharply today on news.");
    private static TextTokenizer tok;
    private static PeftModel model;

    @BeforeAll
    static void load() throws Exception {
        tok = MINILM.tokenizer(64);
        model = Bert.sequenceClassifier(MINILM, 3);
    }

    @AfterAll
    static void close() {
        model.close();
        tok.close();
    }

    @Test
    void predictReturnsTheSoftmaxOfTheLogitsAsLabels() {
        TextClassifier classifier = new TextClassifier(model, tok, List.of("sport", "business", "science"));
        List<Prediction> got = classifier.predictAll(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            float[] logits;
            try (NDManager sm = model.manager().newSubManager()) {
                NDList enc = tok.encode(sm, List.of(TEXTS.get(i)));
                logits = model.forward(enc, false).get(0).toFloatArray();
            }
            double max = Math.max(logits[0], Math.max(logits[1], logits[2]));
            double z = 0;
            for (float l : logits) {
                z += Math.exp(l - max);
            }
            int best = 0;
            for (int c = 0; c < 3; c++) {
                // Batched vs single forward of the same text differ by kernel summation order only.
                assertEquals(Math.exp(logits[c] - max) / z, got.get(i).probabilities()[c], 1e-5, "class " + c);
                best = logits[c] > logits[best] ? c : best;
            }
            assertEquals(List.of("sport", "business", "science").get(best), got.get(i).label());
            assertEquals(got.get(i).label(), classifier.predict(TEXTS.get(i)).label());
            assertEquals(1.0, got.get(i).byLabel().values().stream().mapToDouble(Double::doubleValue).sum(), 1e-12);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new TextClassifier(model, tok, List.of("a", "b")).predict("x"));
        assertTrue(e.getMessage().contains("3 classes"), e.getMessage());
    }

    @Test
    void embedMatchesMeanPooledNormalizedOnnxRuntimeOutput() throws Exception {
        TextEmbedder embedder = new TextEmbedder(model, tok);
        for (String text : TEXTS) {
            float[] got = embedder.embed(text);
            double[] want = onnxSentenceEmbedding(text);
            assertEquals(want.length, got.length);
            for (int k = 0; k < want.length; k++) {
                // ONNX Runtime and libtorch agree to 1e-4 on token states (OnnxRuntimeParityTest); pooling keeps that.
                assertEquals(want[k], got[k], 1e-4, "dimension " + k);
            }
        }
        assertEquals(2, embedder.embedAll(TEXTS).size());
    }

    @Test
    void predictionsLeaveNoArrayInTheModelsManager() {
        TextClassifier classifier = new TextClassifier(model, tok, List.of("sport", "business", "science"));
        TextEmbedder embedder = new TextEmbedder(model, tok);
        classifier.predict(TEXTS.get(0));
        embedder.embed(TEXTS.get(0));
        int before = model.manager().getManagedArrays().size();
        for (int i = 0; i < 5; i++) {
            classifier.predict(TEXTS.get(i % 2));
            embedder.embed(TEXTS.get(i % 2));
        }
        assertEquals(before, model.manager().getManagedArrays().size());
    }

    /** The reference: ONNX Runtime's token states for one text, mean-pooled and L2-normalized in double here. */
    private static double[] onnxSentenceEmbedding(String text) throws Exception {
        long[] ids;
        long[] mask;
        long[] types;
        try (NDManager sm = model.manager().newSubManager()) {
            NDList enc = tok.encode(sm, List.of(text));
            ids = enc.get(0).toLongArray();
            mask = enc.get(1).toLongArray();
            types = enc.get(2).toLongArray();
        }
        byte[] bytes;
        try (InputStream in = MINILM.open(MINILM.onnxResource())) {
            bytes = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] dims = {1, ids.length};
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> feed = new HashMap<>();
            try {
                Map<String, long[]> inputs = Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
                for (Map.Entry<String, long[]> e : inputs.entrySet()) {
                    if (session.getInputNames().contains(e.getKey())) {
                        feed.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(e.getValue()), dims));
                    }
                }
                try (OrtSession.Result result = session.run(feed)) {
                    OnnxTensor out = (OnnxTensor) result.get(0);
                    int h = (int) out.getInfo().getShape()[2];
                    FloatBuffer fb = out.getFloatBuffer();
                    double[] sum = new double[h];
                    double count = 0;
                    for (int t = 0; t < ids.length; t++) {
                        for (int k = 0; k < h; k++) {
                            sum[k] += mask[t] * (double) fb.get(t * h + k);
                        }
                        count += mask[t];
                    }
                    double norm = 0;
                    for (int k = 0; k < h; k++) {
                        sum[k] /= count;
                        norm += sum[k] * sum[k];
                    }
                    for (int k = 0; k < h; k++) {
                        sum[k] /= Math.sqrt(norm);
                    }
                    return sum;
                }
            } finally {
                feed.values().forEach(OnnxTensor::close);
            }
        }
    }
}

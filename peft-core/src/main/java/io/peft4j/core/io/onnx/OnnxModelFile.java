package io.peft4j.core.io.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.io.TensorFormatException;
import io.peft4j.core.io.onnx.proto.OnnxProtos;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The initializers and nodes of an ONNX model, parsed with protobuf-java from the ONNX schema.
 * Only what weight loading needs is kept: tensors by name, and nodes (name, op type, inputs).
 */
public final class OnnxModelFile {
    /** One graph node: its name, operator type and input names. */
    public static final class Node {
        private final String name;
        private final String opType;
        private final List<String> inputs;
        private final List<String> outputs;
        private final Tensor constantValue;

        Node(String name, String opType, List<String> inputs, List<String> outputs, Tensor constantValue) {
            this.name = name;
            this.opType = opType;
            this.inputs = List.copyOf(inputs);
            this.outputs = List.copyOf(outputs);
            this.constantValue = constantValue;
        }

        public List<String> outputs() {
            return outputs;
        }

        public String name() {
            return name;
        }

        public String opType() {
            return opType;
        }

        public List<String> inputs() {
            return inputs;
        }

        /** The value of a {@code Constant} node, or null. */
        public Tensor constantValue() {
            return constantValue;
        }
    }

    private final String source;
    private final Map<String, Tensor> initializers;
    private final List<Node> nodes;

    private OnnxModelFile(String source, Map<String, Tensor> initializers, List<Node> nodes) {
        this.source = source;
        this.initializers = Collections.unmodifiableMap(initializers);
        this.nodes = Collections.unmodifiableList(nodes);
    }

    public static OnnxModelFile read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /** Parses a model from a stream (e.g. a classpath resource); {@code source} names it in errors. */
    public static OnnxModelFile read(InputStream in, String source) throws IOException {
        Path where = Path.of(source);
        OnnxProtos.ModelProto model;
        try {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            // Models carry their weights inline and exceed protobuf's 64 MB default message limit.
            coded.setSizeLimit(Integer.MAX_VALUE);
            model = OnnxProtos.ModelProto.parseFrom(coded);
        } catch (InvalidProtocolBufferException e) {
            throw new TensorFormatException(where, "not a valid ONNX model: " + e.getMessage(), e);
        }
        if (!model.hasGraph()) {
            throw new TensorFormatException(where, "ONNX model has no graph");
        }
        Map<String, Tensor> inits = new LinkedHashMap<>();
        for (OnnxProtos.TensorProto t : model.getGraph().getInitializerList()) {
            inits.put(t.getName(), toTensor(where, t));
        }
        List<Node> nodes = new ArrayList<>();
        for (OnnxProtos.NodeProto n : model.getGraph().getNodeList()) {
            Tensor value = null;
            if ("Constant".equals(n.getOpType())) {
                for (OnnxProtos.AttributeProto a : n.getAttributeList()) {
                    if ("value".equals(a.getName()) && a.hasT()) {
                        value = toTensor(where, a.getT());
                    }
                }
            }
            nodes.add(new Node(n.getName(), n.getOpType(), n.getInputList(), n.getOutputList(), value));
        }
        return new OnnxModelFile(source, inits, nodes);
    }

    private static Tensor toTensor(Path where, OnnxProtos.TensorProto t) throws TensorFormatException {
        if (t.getDataLocation() == OnnxProtos.TensorProto.DataLocation.EXTERNAL) {
            throw new TensorFormatException(where, "initializer '" + t.getName()
                    + "' keeps its data in an external file, which peft4j does not read");
        }
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        int count = Math.toIntExact(Tensor.numel(shape));
        DType dtype;
        ByteBuffer bytes;
        switch (t.getDataType()) {
            case 1: // FLOAT
                dtype = DType.F32;
                bytes = t.hasRawData() ? raw(t) : packFloats(t.getFloatDataList());
                break;
            case 7: // INT64
                dtype = DType.I64;
                bytes = t.hasRawData() ? raw(t) : packLongs(t.getInt64DataList());
                break;
            case 6: // INT32
                dtype = DType.I32;
                bytes = t.hasRawData() ? raw(t) : packInts(t.getInt32DataList());
                break;
            case 10: // FLOAT16 (non-raw values are stored as int32 bit patterns)
                dtype = DType.F16;
                bytes = t.hasRawData() ? raw(t) : packShorts(t.getInt32DataList());
                break;
            case 2: // UINT8
                dtype = DType.U8;
                bytes = t.hasRawData() ? raw(t) : packBytes(t.getInt32DataList());
                break;
            case 9: // BOOL
                dtype = DType.BOOL;
                bytes = t.hasRawData() ? raw(t) : packBytes(t.getInt32DataList());
                break;
            default:
                throw new TensorFormatException(where, "initializer '" + t.getName()
                        + "' has ONNX data type " + t.getDataType() + ", which peft4j does not read");
        }
        long expected = (long) count * dtype.byteSize();
        if (bytes.remaining() != expected) {
            throw new TensorFormatException(where, "initializer '" + t.getName() + "' has dims "
                    + java.util.Arrays.toString(shape) + " needing " + expected + " bytes but holds " + bytes.remaining());
        }
        return new Tensor(dtype, shape, bytes);
    }

    private static ByteBuffer raw(OnnxProtos.TensorProto t) {
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer packFloats(List<Float> values) {
        ByteBuffer b = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(b::putFloat);
        return b.flip();
    }

    private static ByteBuffer packLongs(List<Long> values) {
        ByteBuffer b = ByteBuffer.allocate(values.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(b::putLong);
        return b.flip();
    }

    private static ByteBuffer packInts(List<Integer> values) {
        ByteBuffer b = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(b::putInt);
        return b.flip();
    }

    private static ByteBuffer packShorts(List<Integer> values) {
        ByteBuffer b = ByteBuffer.allocate(values.size() * 2).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(v -> b.putShort((short) v.intValue()));
        return b.flip();
    }

    private static ByteBuffer packBytes(List<Integer> values) {
        ByteBuffer b = ByteBuffer.allocate(values.size());
        values.forEach(v -> b.put((byte) v.intValue()));
        return b.flip();
    }

    /** The node of that name, or null. */
    public Node node(String name) {
        for (Node n : nodes) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        return null;
    }

    /** The constant value that flows along an edge: an initializer or a Constant node's output, or null. */
    public Tensor constant(String edge) {
        Tensor init = initializers.get(edge);
        if (init != null) {
            return init;
        }
        for (Node n : nodes) {
            if (n.constantValue() != null && n.outputs().contains(edge)) {
                return n.constantValue();
            }
        }
        return null;
    }

    public String source() {
        return source;
    }

    public Map<String, Tensor> initializers() {
        return initializers;
    }

    public List<Node> nodes() {
        return nodes;
    }
}

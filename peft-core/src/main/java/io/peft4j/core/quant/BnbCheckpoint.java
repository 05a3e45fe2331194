package io.peft4j.core.quant;

import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import ai.djl.nn.Parameter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole model with quantized layers as a state dict in bitsandbytes' layout ({@link BnbTensors}),
 * and the reverse: building quantized layers from such a state dict, e.g. a transformers
 * "bnb-4bit" checkpoint, so that the float32 weights never need to exist.
 */
public final class BnbCheckpoint {
    private BnbCheckpoint() {}

    /** Every weight of the model under {@code prefix}: float32 parameters and quantized layers' tensors. */
    public static Map<String, Tensor> stateDict(ModuleTree tree, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : tree.namedModules().entrySet()) {
            String path = e.getKey().isEmpty() ? "" : e.getKey() + ".";
            if (e.getValue() instanceof QuantizedLinear) {
                QuantizedLinear q = (QuantizedLinear) e.getValue();
                out.putAll(BnbTensors.write(prefix + path + "weight", q.quantizedWeight()));
            }
            for (Map.Entry<String, Parameter> p : e.getValue().parameters().entrySet()) {
                out.put(prefix + path + p.getKey(), Tensor.of(p.getValue().getArray()));
            }
        }
        return out;
    }

    /** Writes {@link #stateDict} to one safetensors file (atomically). */
    public static void save(ModuleTree tree, String prefix, Path file) throws IOException {
        SafeTensors.write(file, stateDict(tree, prefix), Map.of("format", "pt"));
    }

    /**
     * Replaces each {@link Linear} that {@code weights} hold quantized (names relative to
     * {@code prefix}) by a {@link QuantizedLinear} made from those tensors, and returns the other
     * tensors for the ordinary loader. Everything is read and checked first: on any error the model
     * is left as it was.
     */
    public static Map<String, Tensor> install(ModuleTree tree, Map<String, Tensor> weights, String prefix, String source,
            ai.djl.ndarray.types.DataType computeDType) {
        List<String> keys = BnbTensors.quantizedWeightKeys(weights);
        if (keys.isEmpty()) {
            return weights;
        }
        Map<String, Tensor> rest = new LinkedHashMap<>(weights);
        Map<String, QuantizedLinear> built = new LinkedHashMap<>();
        try {
            for (String key : keys) {
                String module = prefix + key.substring(0, key.length() - ".weight".length());
                Module m = tree.hasModule(module) ? tree.module(module) : null;
                if (!(m instanceof Linear)) {
                    throw new IllegalArgumentException(source + ": tensor '" + key + "' is a quantized weight but '" + module
                            + "' is " + (m == null ? "not a module of the model" : "a " + m + ", not a linear layer"));
                }
                Linear linear = (Linear) m;
                QuantizedTensor q = BnbTensors.read(weights, key, tree.manager(), source);
                long[] shape = q.state().shape();
                if (shape.length != 2 || shape[0] != linear.outFeatures() || shape[1] != linear.inFeatures()) {
                    q.close();
                    throw new IllegalArgumentException(source + ": quantized weight '" + key + "' has shape "
                            + java.util.Arrays.toString(shape) + " but '" + module + "' is [" + linear.outFeatures() + ", "
                            + linear.inFeatures() + "]");
                }
                QuantState s = q.state();
                QuantizationConfig config = QuantizationConfig.builder().type(s.type())
                        .blockSize(s.type().isFourBit() ? s.blockSize() : 64).doubleQuant(s.nested() != null)
                        .computeDType(computeDType).build();
                built.put(module, QuantizedLinear.of(q, linear.hasBias(), config));
                BnbTensors.keysOf(key, weights).forEach(rest::remove);
            }
        } catch (RuntimeException e) {
            built.values().forEach(QuantizedLinear::closeWeight);
            throw e;
        }
        for (Map.Entry<String, QuantizedLinear> e : built.entrySet()) {
            Module old = tree.replaceModule(e.getKey(), e.getValue());
            old.parameters().values().forEach(Parameter::close);
        }
        return rest;
    }

}

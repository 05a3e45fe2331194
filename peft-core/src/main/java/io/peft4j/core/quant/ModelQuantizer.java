package io.peft4j.core.quant;

import ai.djl.nn.Parameter;

import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/** Swaps a model's linear layers for quantized ones and back. */
public final class ModelQuantizer {
    private static final Logger LOG = LoggerFactory.getLogger(ModelQuantizer.class);

    private ModelQuantizer() {}

    /**
     * Quantizes every {@link Linear} whose dotted name passes {@code include} and is not in the
     * config's skip list, one layer at a time so that the float32 copy of only one layer is alive
     * beside the quantized model. Returns the names quantized.
     */
    public static List<String> quantizeLinears(ModuleTree tree, QuantizationConfig config, Predicate<String> include) {
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, Module> e : tree.namedModules().entrySet()) {
            if (e.getValue() instanceof Linear && include.test(e.getKey()) && !config.skips(e.getKey())) {
                names.add(e.getKey());
            }
        }
        long before = tree.weightBytes();
        for (String name : names) {
            Linear linear = (Linear) tree.module(name);
            QuantizedLinear q = QuantizedLinear.quantize(linear, config, tree.manager(), name);
            tree.replaceModule(name, q);
            linear.parameters().values().forEach(Parameter::close);
        }
        LOG.info("Quantized {} linear layers to {}: model weights {} -> {} bytes", names.size(), config, before,
                tree.weightBytes());
        return names;
    }

    /**
     * A hook for {@link io.peft4j.core.nn.WeightLoader}'s per-module callback: each {@link Linear} that
     * passes {@code include} and is not skipped by the config is quantized as soon as its weights are
     * loaded and its float weight freed, so that the float copy of one layer at most exists beside the
     * quantized model while a checkpoint loads. The names quantized are added to {@code quantized}.
     */
    public static BiConsumer<String, Module> whileLoading(ModuleTree tree, QuantizationConfig config,
            Predicate<String> include, List<String> quantized) {
        return (name, module) -> {
            if (module instanceof Linear && include.test(name) && !config.skips(name)) {
                Linear linear = (Linear) module;
                QuantizedLinear q = QuantizedLinear.quantize(linear, config, tree.manager(), name);
                tree.replaceModule(name, q);
                linear.parameters().values().forEach(Parameter::close);
                quantized.add(name);
            }
        };
    }

    /** Quantizes every linear layer the config does not skip. */
    public static List<String> quantizeLinears(ModuleTree tree, QuantizationConfig config) {
        return quantizeLinears(tree, config, name -> true);
    }

    /** Names of the quantized layers of a model, in module order. */
    public static List<String> quantizedLayers(ModuleTree tree) {
        List<String> out = new ArrayList<>();
        tree.namedModules().forEach((k, v) -> {
            if (v instanceof QuantizedLinear) {
                out.add(k);
            }
        });
        return out;
    }

    /** Replaces every quantized layer by a float32 {@link Linear} with its dequantized weight; returns their names. */
    public static List<String> dequantizeAll(ModuleTree tree) {
        List<String> names = quantizedLayers(tree);
        for (String name : names) {
            QuantizedLinear q = (QuantizedLinear) tree.module(name);
            tree.replaceModule(name, q.toLinear(tree.manager()));
            q.closeWeight();
            q.parameters().values().forEach(Parameter::close);
        }
        return names;
    }
}

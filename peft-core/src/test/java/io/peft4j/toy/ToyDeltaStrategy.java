package io.peft4j.toy;

import ai.djl.ndarray.NDArray;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.LinearLayer;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleKind;
import io.peft4j.core.select.Selector;
import io.peft4j.core.strategy.PeftStrategy;
import io.peft4j.core.tuner.HfKeys;
import io.peft4j.core.tuner.TargetMatcher;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The toy method: a dense trainable delta {@code D} on each targeted linear layer ({@code W_eff = W + D}),
 * saved as HF PEFT saves a wrapped layer's tensors ({@code base_model.model.<module>.toy_delta}), and
 * merged by writing {@code W + D} into the base weight. One adapter per model. Found by
 * {@code Peft.load} through this test tree's {@code META-INF/services} entry.
 */
public final class ToyDeltaStrategy implements PeftStrategy<ToyDeltaConfig> {
    @Override
    public String type() {
        return ToyDeltaConfig.PEFT_TYPE;
    }

    @Override
    public ToyDeltaConfig parseConfig(JsonNode json) {
        return ToyDeltaConfig.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, ToyDeltaConfig config, String adapterName) {
        List<String> targets = targets(model, config);
        model.setAllTrainable(false);
        for (String t : targets) {
            ToyDeltaLayer layer = wrap(model.module(t));
            model.replaceModule(t, layer);
            layer.initializeMissing(model.manager());
            layer.parameters().get(ToyDeltaLayer.DELTA).freeze(false);
        }
        model.registerAdapter(adapterName, config);
    }

    @SuppressWarnings("unchecked") // checked by the caller: every target is a Module that is a LinearLayer
    private static <L extends Module & LinearLayer> ToyDeltaLayer wrap(Module m) {
        return new ToyDeltaLayer((L) m);
    }

    /** The linear layers the config targets; checked before anything changes. */
    private List<String> targets(PeftModel model, ToyDeltaConfig config) {
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof ToyDeltaLayer) {
                throw new IllegalArgumentException("The model already holds a " + type() + " adapter (at " + e.getKey()
                        + "); merge and unload it first");
            }
        }
        Selector linear = Selector.kind(ModuleKind.LINEAR);
        List<String> targets = TargetMatcher.targets(config, linear, null)
                .and((n, m) -> m instanceof LinearLayer).modules(model);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException(type() + " target_modules " + config.toJson().get("target_modules")
                    + " match no linear layer of " + model.architecture());
        }
        return targets;
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, ToyDeltaConfig config, String adapterName) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        layers(model).forEach((name, layer) -> out.put(key(name), Tensor.of(layer.deltaArray())));
        return out;
    }

    private static String key(String modulePath) {
        return HfKeys.saved(modulePath + "." + ToyDeltaLayer.DELTA);
    }

    private static Map<String, ToyDeltaLayer> layers(PeftModel model) {
        Map<String, ToyDeltaLayer> out = new LinkedHashMap<>();
        model.namedModules().forEach((name, m) -> {
            if (m instanceof ToyDeltaLayer) {
                out.put(name, (ToyDeltaLayer) m);
            }
        });
        return out;
    }

    @Override
    public void load(PeftModel model, ToyDeltaConfig config, Map<String, Tensor> tensors, String adapterName) {
        List<String> targets = targets(model, config);
        TreeSet<String> extra = new TreeSet<>(tensors.keySet());
        for (String t : targets) {
            String k = key(t);
            Tensor tensor = tensors.get(k);
            if (tensor == null) {
                throw new IllegalArgumentException("adapter_model.safetensors has no tensor '" + k + "'");
            }
            LinearLayer l = (LinearLayer) model.module(t);
            long[] want = {l.outFeatures(), l.inFeatures()};
            if (!Arrays.equals(want, tensor.shape())) {
                throw new IllegalArgumentException("Tensor '" + k + "' has shape " + Arrays.toString(tensor.shape())
                        + ", expected " + Arrays.toString(want));
            }
            extra.remove(k);
        }
        if (!extra.isEmpty()) {
            List<String> some = new ArrayList<>(extra).subList(0, Math.min(3, extra.size()));
            throw new IllegalArgumentException(extra.size() + " tensor(s) of adapter_model.safetensors fit no target of "
                    + "target_modules, e.g. " + some);
        }
        apply(model, config, adapterName);
        for (String t : targets) {
            NDArray d = tensors.get(key(t)).toFloat32NDArray(model.manager());
            ((ToyDeltaLayer) model.module(t)).setParameterArray(ToyDeltaLayer.DELTA, d);
        }
    }

    @Override
    public void mergeAndUnload(PeftModel model, ToyDeltaConfig config, String adapterName) {
        layers(model).forEach((name, layer) -> {
            LinearLayer base = layer.base();
            NDArray w = base.readWeight(model.manager());
            NDArray merged = w.add(layer.deltaArray());
            w.close();
            base.writeWeight(merged);
            model.replaceModule(name, layer.unwrap());
        });
        model.unregisterAdapter(adapterName);
    }
}

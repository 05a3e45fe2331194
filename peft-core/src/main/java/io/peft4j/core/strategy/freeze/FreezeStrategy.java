package io.peft4j.core.strategy.freeze;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.Names;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.strategy.PeftStrategy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Freezes every parameter but those the config's selector picks; saves only those. */
public final class FreezeStrategy implements PeftStrategy<FreezeConfig> {
    @Override
    public String type() {
        return FreezeConfig.TYPE;
    }

    @Override
    public FreezeConfig parseConfig(JsonNode json) {
        return FreezeConfig.fromJson(json);
    }

    private static List<NamedParameter> selected(PeftModel model, FreezeConfig config) {
        List<NamedParameter> chosen = config.selector().parameters(model);
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException(config + " selects no parameter of " + model.architecture()
                    + "; module names nearest to " + config.modulesToTrain() + ": "
                    + Names.closest(String.join(".", config.modulesToTrain()), model.namedModules().keySet(), 5));
        }
        return chosen;
    }

    @Override
    public void apply(PeftModel model, FreezeConfig config, String adapterName) {
        List<NamedParameter> chosen = selected(model, config);
        model.setAllTrainable(false);
        for (NamedParameter p : chosen) {
            p.parameter().freeze(false);
        }
        model.registerAdapter(adapterName, config);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, FreezeConfig config, String adapterName) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (NamedParameter p : selected(model, config)) {
            out.put(p.name(), Tensor.of(p.parameter().getArray()));
        }
        return out;
    }

    @Override
    public void load(PeftModel model, FreezeConfig config, Map<String, Tensor> tensors, String adapterName) {
        Set<String> expected = selected(model, config).stream().map(NamedParameter::name).collect(Collectors.toSet());
        Set<String> unexpected = new java.util.TreeSet<>(tensors.keySet());
        unexpected.removeAll(expected);
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException("freeze adapter holds tensors its config does not train: " + unexpected);
        }
        WeightLoader.load(model, tensors, "", "freeze adapter", name -> !expected.contains(name));
        apply(model, config, adapterName);
    }

    /** Nothing to fold: the trained parameters are the model's own. */
    @Override
    public void mergeAndUnload(PeftModel model, FreezeConfig config, String adapterName) {
        model.unregisterAdapter(adapterName);
    }
}

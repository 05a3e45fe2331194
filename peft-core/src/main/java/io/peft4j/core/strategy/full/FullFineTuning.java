package io.peft4j.core.strategy.full;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.strategy.PeftStrategy;

import java.util.LinkedHashMap;
import java.util.Map;

/** Trains every parameter; its saved state is the whole model under transformers' names. */
public final class FullFineTuning implements PeftStrategy<FullFineTuningConfig> {
    @Override
    public String type() {
        return FullFineTuningConfig.TYPE;
    }

    @Override
    public FullFineTuningConfig parseConfig(JsonNode json) {
        return new FullFineTuningConfig();
    }

    @Override
    public void apply(PeftModel model, FullFineTuningConfig config, String adapterName) {
        model.setAllTrainable(true);
        model.registerAdapter(adapterName, config);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, FullFineTuningConfig config, String adapterName) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (NamedParameter p : model.namedParameters()) {
            out.put(p.name(), Tensor.of(p.parameter().getArray()));
        }
        return out;
    }

    @Override
    public void load(PeftModel model, FullFineTuningConfig config, Map<String, Tensor> tensors, String adapterName) {
        WeightLoader.load(model, tensors, "", "full fine-tuning state", name -> false);
        apply(model, config, adapterName);
    }

    /** Nothing to fold: the fine-tuned weights are the model's own. */
    @Override
    public void mergeAndUnload(PeftModel model, FullFineTuningConfig config, String adapterName) {
        model.unregisterAdapter(adapterName);
    }
}

package io.peft4j.sparse.hft;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.WeightLoader;
import io.peft4j.core.strategy.PeftStrategy;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HFT as a strategy: {@code apply} sets the trainable set to stage 0's half (the same half
 * {@link HalfFineTuning} draws at the first stage boundary); add a {@link HalfFineTuning} callback to
 * the trainer to redraw at every later stage. Over a run of stages every weight may change, so the
 * saved state is an ordinary checkpoint: every parameter under transformers' names, as full
 * fine-tuning saves it.
 */
public final class HftStrategy implements PeftStrategy<HftConfig> {
    @Override
    public String type() {
        return HftConfig.TYPE;
    }

    @Override
    public HftConfig parseConfig(JsonNode json) {
        return HftConfig.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, HftConfig config, String adapterName) {
        HalfSelection first = HalfSelection.draw(model, model.family(), config, 0);
        first.applyTo(model, model.family(), config);
        model.registerAdapter(adapterName, config);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, HftConfig config, String adapterName) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (NamedParameter p : model.namedParameters()) {
            out.put(p.name(), Tensor.of(p.parameter().getArray()));
        }
        return out;
    }

    @Override
    public void load(PeftModel model, HftConfig config, Map<String, Tensor> tensors, String adapterName) {
        HalfSelection.draw(model, model.family(), config, 0); // refuses a model without layer roles before any write
        WeightLoader.load(model, tensors, "", "HFT state", name -> false);
        apply(model, config, adapterName);
    }

    /** Nothing to fold: the fine-tuned weights are the model's own. */
    @Override
    public void mergeAndUnload(PeftModel model, HftConfig config, String adapterName) {
        model.unregisterAdapter(adapterName);
    }
}

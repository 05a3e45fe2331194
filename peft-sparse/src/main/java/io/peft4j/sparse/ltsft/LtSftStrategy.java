package io.peft4j.sparse.ltsft;

import com.fasterxml.jackson.databind.JsonNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.strategy.PeftStrategy;

import java.util.List;
import java.util.Map;

/**
 * LT-SFT as a strategy: {@code apply} prepares phase 1 (every parameter trains) and checks the
 * maskable set; the two phases themselves run in a trainer with {@link LtSftTraining} and
 * {@link LtSftTraining#stages}. {@code state} is the {@link SparseFineTuning} trained so far;
 * {@code load} adds a saved one to the base's weights (at inference nothing is added to the
 * architecture), so {@code mergeAndUnload} has nothing left to fold.
 */
public final class LtSftStrategy implements PeftStrategy<LtSftConfig> {
    @Override
    public String type() {
        return LtSftConfig.TYPE;
    }

    @Override
    public LtSftConfig parseConfig(JsonNode json) {
        return LtSftConfig.fromJson(json);
    }

    @Override
    public void apply(PeftModel model, LtSftConfig config, String adapterName) {
        if (config.maskable(model, model.family()).parameters(model).isEmpty()) {
            throw new IllegalArgumentException("LT-SFT: no parameter of " + model.architecture()
                    + " is maskable under maskable_modules " + config.maskableModules());
        }
        model.setAllTrainable(true);
        model.registerAdapter(adapterName, config);
    }

    @Override
    public Map<String, Tensor> state(PeftModel model, LtSftConfig config, String adapterName) {
        return SparseFineTuning.of(model, config).tensors();
    }

    @Override
    public void load(PeftModel model, LtSftConfig config, Map<String, Tensor> tensors, String adapterName) {
        SparseFineTuning ft = SparseFineTuning.fromTensors(config, tensors, model);
        AppliedSparseFineTunings.apply(model, List.of(ft));
        model.registerAdapter(adapterName, config);
    }

    /** The deltas were added to the weights on load: only the adapter's record is left to drop. */
    @Override
    public void mergeAndUnload(PeftModel model, LtSftConfig config, String adapterName) {
        model.unregisterAdapter(adapterName);
    }
}

package io.peft4j.toy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.select.Selector;
import io.peft4j.core.testing.Weights;
import io.peft4j.core.train.CheckpointState;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.TrainerCallback;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Trains the toy deltas of one transformer layer in a first phase and of another from a given step on,
 * LT-SFT-style two phases written as a callback. The layer order and the phase are this callback's
 * decisions, kept through the checkpoint hook: a resumed run built with another order must still
 * follow the order the interrupted run used. The trainable set itself comes back from the checkpoint.
 */
public final class PhaseSwitch implements TrainerCallback {
    private final long switchStep;
    private List<Integer> order;
    private int phase;
    private long switchedAt = -1;
    private Map<String, float[]> atSwitch;

    /** {@code order}: the layer trained in phase 0, then in phase 1; the switch comes before step {@code switchStep}. */
    public PhaseSwitch(List<Integer> order, long switchStep) {
        if (order.size() != 2) {
            throw new IllegalArgumentException("order names the layer of each of the 2 phases, got " + order);
        }
        this.order = List.copyOf(order);
        this.switchStep = switchStep;
    }

    @Override
    public String name() {
        return "phase-switch";
    }

    @Override
    public void onStepBegin(StepContext s) {
        PeftModel model = s.model();
        if (phase == 0 && s.step() >= switchStep) {
            atSwitch = Weights.snapshot(model); // host copies: what phase 0 left behind
            phase = 1;
            switchedAt = s.step();
        }
        Set<String> wanted = names(Selector.layerIn(List.of(order.get(phase)), model.family().layersPattern())
                .and(Selector.suffix(ToyDeltaLayer.DELTA)).parameters(model));
        // Only on a change: AdamW creates moments for the newly trainable deltas and drops the others'.
        if (!wanted.equals(names(model.trainableParameters()))) {
            model.setAllTrainable(false);
            wanted.forEach(n -> model.parameter(n).parameter().freeze(false));
        }
    }

    static Set<String> names(List<NamedParameter> params) {
        Set<String> out = new TreeSet<>();
        params.forEach(p -> out.add(p.name()));
        return out;
    }

    public int phase() {
        return phase;
    }

    /** The step index at which phase 1 began in this process, or -1 (also after resuming past it). */
    public long switchedAt() {
        return switchedAt;
    }

    /** Every parameter at the switch, or null when the switch did not happen in this process. */
    public Map<String, float[]> weightsAtSwitch() {
        return atSwitch;
    }

    public List<Integer> order() {
        return order;
    }

    @Override
    public CheckpointState state() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("phase", phase);
        ArrayNode layers = json.putArray("order");
        order.forEach(layers::add);
        return CheckpointState.of(Map.of(), json);
    }

    @Override
    public void restore(CheckpointState state) {
        ObjectNode json = state.json();
        List<Integer> layers = new ArrayList<>();
        json.path("order").forEach(n -> layers.add(n.intValue()));
        if (layers.size() != 2 || !json.path("phase").isInt()) {
            throw new IllegalArgumentException("callback-phase-switch.json needs 'phase' (int) and 'order' (2 layer"
                    + " indices), got " + json);
        }
        order = List.copyOf(layers);
        phase = json.get("phase").intValue();
    }
}

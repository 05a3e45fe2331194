package io.peft4j.sparse.hft;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.train.CheckpointState;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.TrainerCallback;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Steers a multi-stage {@link io.peft4j.core.train.Trainer} run through HFT: at every stage boundary
 * it draws the stage's half ({@link HalfSelection}) and sets the trainable set to it, so the optimizer
 * drops the moments of what froze and starts fresh ones for what thawed (the paper trains each stage's
 * half from a fresh optimizer state for it).
 *
 * <p>Its checkpoint state is the current stage's draw; the trainer restores the trainable set itself,
 * and the draw is a function of the seed and the stage index, so a run resumed mid-stage goes on with
 * exactly the half it was training.
 */
public final class HalfFineTuning implements TrainerCallback {
    private static final Logger LOG = LoggerFactory.getLogger(HalfFineTuning.class);

    private final HftConfig config;
    private HalfSelection current;

    public HalfFineTuning(HftConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public String name() {
        return "hft";
    }

    /** The half training now; null before the first stage starts. */
    public HalfSelection current() {
        return current;
    }

    @Override
    public void onStageBoundary(StepContext s) {
        PeftModel model = s.model();
        current = HalfSelection.draw(model, model.family(), config, s.stageIndex());
        current.applyTo(model, model.family(), config);
        LOG.info("HFT stage {}: {} modules of the {} layers train", s.stageIndex(), current.modules().size(),
                model.family().layers(model).size());
    }

    @Override
    public CheckpointState state() {
        if (current == null) {
            return CheckpointState.empty();
        }
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("stage", current.stage());
        json.put("seed", config.seed());
        ArrayNode modules = json.putArray("modules");
        current.modules().forEach(modules::add);
        return CheckpointState.of(java.util.Map.of(), json);
    }

    @Override
    public void restore(CheckpointState state) {
        long seed = state.json().path("seed").asLong();
        if (seed != config.seed()) {
            throw new IllegalArgumentException("HFT checkpoint was drawn with seed " + seed + ", this run has seed "
                    + config.seed() + ": resume with the same HftConfig");
        }
        List<String> modules = new ArrayList<>();
        state.json().path("modules").forEach(n -> modules.add(n.asText()));
        current = new HalfSelection(state.json().path("stage").asInt(), modules);
    }
}

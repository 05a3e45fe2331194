package io.peft4j.sparse.ltsft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.data.Batches;
import io.peft4j.core.io.DType;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.select.ElementSelection;
import io.peft4j.core.train.CheckpointState;
import io.peft4j.core.train.Stage;
import io.peft4j.core.train.StepContext;
import io.peft4j.core.train.TrainerCallback;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs LT-SFT's two phases as the trainer's two stages ({@link #stages}):
 * <ol>
 * <li>Stage 0, full fine-tuning: at its start {@code θ0} is recorded and every parameter trains.</li>
 * <li>Stage 1, sparse fine-tuning: at its start the top-K entries by {@code |θ1 − θ0|} among the
 * maskable parameters are chosen, every parameter is reset to {@code θ0}, the optimizer's moments are
 * zeroed (the reference starts phase 2 with a fresh optimizer), and only maskable parameters with a
 * chosen entry and the dense heads train. After every backward pass the gradients of entries not
 * chosen are zeroed (so clipping and Adam's moments see only chosen ones; with {@code l1_reg} the
 * chosen ones are pulled toward {@code θ0}); after every update {@code θ0} is written back at every
 * entry not chosen, so weight decay cannot move them either: they end bit-identical to {@code θ0}.</li>
 * </ol>
 * Its checkpoint state is {@code θ0} and the chosen indices, so a run resumes in either phase.
 */
public final class LtSftTraining implements TrainerCallback {
    private static final Logger LOG = LoggerFactory.getLogger(LtSftTraining.class);
    private static final String ORIGIN = "theta0.";
    private static final String INDICES = "indices.";

    private final LtSftConfig config;
    private LotteryTicket ticket;
    private CheckpointState pending;

    public LtSftTraining(LtSftConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** LT-SFT's phases as stages: full fine-tuning for {@code fullEpochs}, then sparse for {@code sparseEpochs}. */
    public static List<Stage> stages(Batches train, int fullEpochs, int sparseEpochs) {
        return List.of(Stage.builder("lt-sft-full", train).epochs(fullEpochs).build(),
                Stage.builder("lt-sft-sparse", train).epochs(sparseEpochs).build());
    }

    @Override
    public String name() {
        return "lt-sft";
    }

    @Override
    public void onStageBoundary(StepContext s) {
        PeftModel model = s.model();
        ticket = LotteryTicket.of(model);
        if (s.stageIndex() == 0) {
            ticket.recordOrigin(model);
            model.setAllTrainable(true);
            return;
        }
        if (s.stageIndex() != 1) {
            throw new IllegalStateException("LT-SFT runs in two stages (full, then sparse); stage " + s.stageIndex()
                    + " '" + s.stage().name() + "' has no phase: build the run with LtSftTraining.stages");
        }
        List<NamedParameter> maskable = config.maskable(model, model.family()).parameters(model);
        if (maskable.isEmpty()) {
            throw new IllegalArgumentException("LT-SFT: no parameter of " + model.architecture() + " is maskable under " + config);
        }
        ElementSelection chosen = LotteryTicket.choose(model, maskable, config, ticket.origin());
        ticket.select(completeSelection(maskable, chosen), model);
        ticket.resetToOrigin(model);
        model.setAllTrainable(false);
        java.util.Set<String> maskableNames = new java.util.HashSet<>();
        maskable.forEach(p -> maskableNames.add(p.name()));
        for (NamedParameter p : model.namedParameters()) {
            boolean head = !maskableNames.contains(p.name());
            if (head || chosen.indices().containsKey(p.name())) {
                p.parameter().freeze(false);
            }
        }
        resetMoments(s);
        LOG.info("LT-SFT: {} of {} maskable entries chosen in {} tensors", chosen.count(),
                maskable.stream().mapToLong(NamedParameter::size).sum(), chosen.indices().size());
    }

    /** The chosen indices by parameter in tree order; a maskable parameter with nothing chosen gets no mask and stays frozen. */
    private static Map<String, long[]> completeSelection(List<NamedParameter> maskable, ElementSelection chosen) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (NamedParameter p : maskable) {
            long[] idx = chosen.indices(p.name());
            if (idx.length > 0) {
                out.put(p.name(), idx);
            }
        }
        return out;
    }

    private static void resetMoments(StepContext s) {
        for (String name : s.optimizer().parameterNames()) {
            long n = s.model().parameter(name).size();
            try (NDManager scratch = s.model().manager().newSubManager()) {
                s.optimizer().resetState(name, scratch.arange(0L, n, 1L, ai.djl.ndarray.types.DataType.INT64));
            }
        }
    }

    @Override
    public void afterBackward(StepContext s) {
        LotteryTicket ticket = LotteryTicket.of(s.model());
        if (s.stageIndex() != 1 || !ticket.isSelected()) {
            return;
        }
        for (Map.Entry<NamedParameter, NDArray> e : s.gradients().entrySet()) {
            ticket.maskGradient(e.getKey(), e.getValue(), config.l1Reg(), s.manager());
        }
    }

    @Override
    public void afterOptimizerStep(StepContext s) {
        LotteryTicket ticket = LotteryTicket.of(s.model());
        if (s.stageIndex() != 1 || !ticket.isSelected()) {
            return;
        }
        for (NamedParameter p : s.model().trainableParameters()) {
            ticket.restoreUnselected(p, s.manager());
        }
    }

    @Override
    public CheckpointState state() {
        return stateOf(ticket);
    }

    /** Kept until the first resumed step, which brings the model the state belongs to. */
    @Override
    public void restore(CheckpointState state) {
        pending = state;
    }

    @Override
    public void onStepBegin(StepContext s) {
        if (pending == null) {
            return;
        }
        PeftModel model = s.model();
        ticket = LotteryTicket.of(model);
        Map<String, NDArray> origin = new LinkedHashMap<>();
        Map<String, long[]> indices = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : pending.tensors().entrySet()) {
            if (e.getKey().startsWith(ORIGIN)) {
                origin.put(e.getKey().substring(ORIGIN.length()), e.getValue().toNDArray(model.manager()));
            } else if (e.getKey().startsWith(INDICES)) {
                Tensor t = e.getValue();
                long[] idx = new long[Math.toIntExact(t.numel())];
                t.data().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(idx);
                indices.put(e.getKey().substring(INDICES.length()), idx);
            }
        }
        ticket.restoreOrigin(origin);
        if (!indices.isEmpty()) {
            ticket.select(indices, model);
        }
        pending = null;
    }

    private static CheckpointState stateOf(LotteryTicket ticket) {
        if (ticket == null || !ticket.hasOrigin()) {
            return CheckpointState.empty();
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        ticket.origin().forEach((name, v) -> tensors.put(ORIGIN + name, Tensor.view(v)));
        ticket.selected().forEach((name, idx) -> tensors.put(INDICES + name, longs(idx)));
        ObjectNode json = JsonNodeFactory.instance.objectNode().put("phase", ticket.isSelected() ? "sparse" : "full");
        return CheckpointState.of(tensors, json);
    }

    private static Tensor longs(long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        b.flip();
        return new Tensor(DType.I64, new long[] {values.length}, b);
    }
}

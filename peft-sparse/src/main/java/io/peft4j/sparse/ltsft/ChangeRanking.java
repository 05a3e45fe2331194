package io.peft4j.sparse.ltsft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.select.Criterion;
import io.peft4j.core.select.ElementSelection;
import io.peft4j.core.select.Ranking;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * LT-SFT's choice: the top-K elements by {@code |θ1 − θ0|} across all maskable parameters, ranked
 * globally by the core's {@link Ranking} (magnitude of each change, ties to the earlier tensor, then the
 * lower index). The changes are handed to the ranking as parameters of stand-in modules named like
 * the real ones, so the selection is keyed by the model's parameter names.
 */
final class ChangeRanking {
    private ChangeRanking() {}

    /** A module holding one change tensor under the real parameter's local name; never run. */
    private static final class ChangeHolder extends Module {
        ChangeHolder(String localName, Shape shape) {
            registerParameter(localName, Parameter.Type.WEIGHT, shape, null);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            throw new IllegalStateException("a change holder only carries a tensor to the ranking");
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /**
     * @param current the maskable parameters now (θ1)
     * @param origin each one's value before fine-tuning (θ0), by name
     * @param k how many elements to keep (at most their count)
     */
    static ElementSelection topChanges(List<NamedParameter> current, Map<String, NDArray> origin, long k, NDManager scratch) {
        List<NamedParameter> changes = new ArrayList<>();
        for (NamedParameter p : current) {
            NDArray theta0 = origin.get(p.name());
            NDArray change = scratch.zeros(p.parameter().getShape()); // first operand owned by scratch
            change = change.addi(p.parameter().getArray()).subi(theta0);
            ChangeHolder holder = new ChangeHolder(p.localName(), p.parameter().getShape());
            holder.setParameterArray(p.localName(), change);
            changes.add(new NamedParameter(p.moduleName(), holder, p.localName()));
        }
        return Ranking.by(Criterion.MAGNITUDE).topK(k).selectElements(changes);
    }
}

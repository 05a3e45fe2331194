package io.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import io.peft4j.core.Compute;
import io.peft4j.core.nn.Linear;
import io.peft4j.core.nn.Module;
import io.peft4j.core.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.util.List;

/** A tensor shared by two modules is one tied group, reported once, whichever way it is declared. */
class TiedWeightsTest {
    /** An encoder-decoder pair in miniature: the decoder's weight is the encoder's tensor. */
    static final class Pair extends Module {
        Pair() {
            registerModule("embed", new Linear(3, 3, false));
            registerModule("head", new Linear(3, 3, false));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            return child("head").forward(ps, child("embed").forward(ps, in, training), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    @Test
    void aSharedTensorIsOneGroupReportedOnce() {
        try (ModuleTree tree = new ModuleTree(new Pair(), Compute.newManager())) {
            tree.initializeMissing();
            assertEquals(List.of(), TiedWeights.detect(tree), "separate tensors are not tied");
            tree.module("head").setParameterArray("weight", ((Linear) tree.module("embed")).weight());

            List<TiedWeights> found = TiedWeights.detect(tree);
            assertEquals(List.of(TiedWeights.of("embed.weight", "head.weight")), found);
            assertEquals("embed.weight", found.get(0).owner());
            assertEquals(List.of("head.weight"), found.get(0).aliases());

            // a family declaring the pair (owner first) and the tree showing it: still one group
            List<TiedWeights> merged = TiedWeights.merge(List.of(TiedWeights.of("head.weight", "embed.weight")), found);
            assertEquals(List.of(TiedWeights.of("head.weight", "embed.weight")), merged);
        }
    }

    @Test
    void aGroupNeedsTwoDistinctNames() {
        assertThrows(IllegalArgumentException.class, () -> TiedWeights.of("a.weight"));
        assertThrows(IllegalArgumentException.class, () -> TiedWeights.of("a.weight", "a.weight"));
    }
}

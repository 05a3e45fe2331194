package io.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;

import io.peft4j.core.Compute;
import io.peft4j.core.testing.PassThroughModule;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * One parameter object registered under two modules (an output head tied to the input embedding) is
 * listed, counted and trained once. Expected counts are the shapes' products: embedding 5x3 = 15,
 * head bias 5, so 20 elements, not the 35 a double count would give.
 */
class TiedParametersTest {
    /** A leaf that registers its own parameters, or ties to a given one. */
    private static final class Leaf extends PassThroughModule {
        final Parameter weight;

        Leaf(Parameter tiedWeight, boolean withBias) {
            weight = tiedWeight == null
                    ? registerParameter("weight", Parameter.Type.WEIGHT, new Shape(5, 3), Initializer.ONES)
                    : registerParameter("weight", tiedWeight);
            if (withBias) {
                registerParameter("bias", Parameter.Type.BIAS, new Shape(5), Initializer.ZEROS);
            }
        }
    }

    private static final class Root extends PassThroughModule {
        Root() {
            Leaf embed = registerModule("embed", new Leaf(null, false));
            registerModule("head", new Leaf(embed.weight, true));
        }
    }

    @Test
    void aTiedParameterIsListedCountedAndTrainedOnce() {
        NDManager manager = Compute.newManager();
        try (ModuleTree tree = new ModuleTree(new Root(), manager)) {
            tree.initializeMissing();
            tree.setAllTrainable(true);
            assertEquals(List.of("embed.weight", "head.bias"), names(tree.namedParameters()));
            assertEquals(List.of("embed.weight", "head.bias"), names(tree.trainableParameters()));
            TrainableReport report = tree.trainableReport();
            assertEquals(20, report.total());
            assertEquals(20, report.trainable());
            assertEquals(20L * 4, tree.weightBytes());
            // the second name still finds the parameter, and it is the same object
            assertSame(tree.parameter("embed.weight").parameter(), tree.parameter("head.weight").parameter());

            tree.parameter("head.bias").parameter().freeze(true);
            assertEquals(List.of("embed.weight"), names(tree.trainableParameters()));
            assertEquals(15, tree.trainableReport().trainable());
        }
    }

    private static List<String> names(List<NamedParameter> ps) {
        List<String> out = new ArrayList<>();
        ps.forEach(p -> out.add(p.name()));
        return out;
    }
}

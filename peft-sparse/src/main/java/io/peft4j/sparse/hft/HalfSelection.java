package io.peft4j.sparse.hft;

import ai.djl.nn.Parameter;

import io.peft4j.core.model.LayerRoles;
import io.peft4j.core.model.ModelFamily;
import io.peft4j.core.model.TransformerLayer;
import io.peft4j.core.nn.ModuleTree;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.select.Selector;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * The half of a model that trains in one HFT stage: module paths chosen by role from the model
 * family's {@link LayerRoles}, never from module names.
 *
 * <p>The rule, per role (attention projections, feed-forward matrices, norms), with {@code m} modules
 * of that role in each of {@code L} layers: {@code floor(m * L / 2)} modules train in all. Every layer
 * trains {@code floor(m / 2)} of its {@code m}; when {@code m} is odd, a random {@code floor(L / 2)}
 * of the layers train one more. So per layer 2 of 4 attention projections and 1 of 2 norms; of
 * Llama's 3 feed-forward matrices (gate, up, down) 2 in a random half of the layers and 1 in the
 * others; of BERT's 2 dense feed-forward layers 1 per layer. Which modules within a layer is random.
 * GPT-2's fused {@code c_attn} counts as one attention module beside {@code c_proj} (so per layer 1
 * of the 2); by parameters that is three quarters or one quarter of the layer's attention.
 *
 * <p>The draw depends only on the seed, the stage index and the model's roles, so a run resumed
 * mid-stage, or a run on another machine, draws the same half.
 */
public final class HalfSelection {
    private final int stage;
    private final List<String> modules;

    HalfSelection(int stage, List<String> modules) {
        this.stage = stage;
        this.modules = List.copyOf(modules);
    }

    /** Draws the half that trains in {@code stage} (0-based) of a run under {@code config}. */
    public static HalfSelection draw(ModuleTree model, ModelFamily family, HftConfig config, int stage) {
        if (stage < 0) {
            throw new IllegalArgumentException("HFT stage index must be >= 0, got " + stage);
        }
        List<TransformerLayer> layers = family.layers(model);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("HFT needs transformer layers; the " + family.name() + " model has none");
        }
        List<LayerRoles> roles = new ArrayList<>();
        for (TransformerLayer layer : layers) {
            roles.add(family.layerRoles(model, layer));
        }
        // One stream per (seed, stage): stages differ, and stage i is the same wherever it is drawn.
        Random random = new Random(config.seed() * 1_000_003L + stage);
        List<String> chosen = new ArrayList<>();
        chosen.addAll(halve(roles, LayerRoles::attention, "attention", random));
        chosen.addAll(halve(roles, LayerRoles::feedForward, "feed-forward", random));
        chosen.addAll(halve(roles, LayerRoles::norms, "norm", random));
        for (String path : chosen) {
            if (!model.hasModule(path)) {
                throw new IllegalArgumentException("The " + family.name() + " family names module '" + path
                        + "' as a layer role, but the model has no such module");
            }
        }
        return new HalfSelection(stage, chosen);
    }

    private static List<String> halve(List<LayerRoles> roles, Function<LayerRoles, List<String>> role, String what,
            Random random) {
        int m = role.apply(roles.get(0)).size();
        for (LayerRoles r : roles) {
            if (role.apply(r).size() != m) {
                throw new IllegalArgumentException("HFT needs the same number of " + what + " modules in every layer: layer "
                        + r.layer() + " has " + role.apply(r).size() + ", layer " + roles.get(0).layer() + " has " + m);
            }
        }
        int layers = roles.size();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            order.add(i);
        }
        Collections.shuffle(order, random);
        int extra = m % 2 == 1 ? layers / 2 : 0;
        Set<Integer> withExtra = new LinkedHashSet<>(order.subList(0, extra));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            List<String> own = role.apply(roles.get(i));
            List<String> modules = new ArrayList<>(own);
            Collections.shuffle(modules, random);
            int take = m / 2 + (withExtra.contains(i) ? 1 : 0);
            List<String> taken = new ArrayList<>(modules.subList(0, take));
            taken.sort(java.util.Comparator.comparingInt(own::indexOf)); // tree order, so a printed selection reads like the model
            out.addAll(taken);
        }
        return out;
    }

    public int stage() {
        return stage;
    }

    /** The chosen module paths: per role, layer by layer. */
    public List<String> modules() {
        return modules;
    }

    /**
     * Everything that trains in this stage: the chosen modules' parameters, the embedding tables when
     * the config says so and the rest outside the layers (head, pooler, final norm) when it says so. A
     * weight tied to an embedding table (a tied LM head) follows the embeddings.
     */
    public List<NamedParameter> parameters(ModuleTree model, ModelFamily family, HftConfig config) {
        List<String> layerPaths = family.layers(model).stream().map(TransformerLayer::path).toList();
        Selector inLayers = Selector.within(Selector.exact(layerPaths.toArray(String[]::new)));
        Selector embeddings = Selector.within(Selector.exact(family.embeddings(model).toArray(String[]::new)));
        Set<Parameter> embeddingArrays = Collections.newSetFromMap(new IdentityHashMap<>());
        embeddings.parameters(model).forEach(p -> embeddingArrays.add(p.parameter()));
        Selector chosen = Selector.within(Selector.exact(modules.toArray(String[]::new)));
        List<NamedParameter> out = new ArrayList<>();
        for (NamedParameter p : model.namedParameters()) {
            boolean train;
            if (embeddingArrays.contains(p.parameter())) {
                train = config.trainEmbeddings();
            } else if (inLayers.test(p.name(), p.module())) {
                train = chosen.test(p.name(), p.module());
            } else {
                train = config.trainHead();
            }
            if (train) {
                out.add(p);
            }
        }
        return out;
    }

    /** Freezes the model but for {@link #parameters}; the optimizer drops and creates moments at the next step. */
    public void applyTo(ModuleTree model, ModelFamily family, HftConfig config) {
        List<NamedParameter> train = parameters(model, family, config);
        model.setAllTrainable(false);
        train.forEach(p -> p.parameter().freeze(false));
    }

    @Override
    public String toString() {
        return "HFT stage " + stage + ": " + modules;
    }
}

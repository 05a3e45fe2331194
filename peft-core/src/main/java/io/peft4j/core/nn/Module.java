package io.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DJL block with named children and named parameters, so that a model is a tree whose dotted
 * paths are the names Hugging Face transformers gives (e.g. {@code encoder.layer.3.attention.self.query}).
 *
 * <p>Children are replaceable by name; that is how strategies inject their layers. Parameters are
 * declared with a shape up front and get their arrays either from a checkpoint or from their
 * initializer, so a model can be built once and filled from any format.
 */
public abstract class Module extends AbstractBlock {
    private final Map<String, Module> modules = new LinkedHashMap<>();

    /** The module's kind, for selectors. */
    public ModuleKind kind() {
        return ModuleKind.CONTAINER;
    }

    /** Registers a named child; the name becomes one component of the dotted path. */
    protected final <M extends Module> M registerModule(String name, M module) {
        if (name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("Module name must be one non-empty path component: '" + name + "'");
        }
        if (modules.containsKey(name)) {
            throw new IllegalArgumentException("Module '" + name + "' is already registered");
        }
        modules.put(name, module);
        return module;
    }

    /** Removes a named child (e.g. an adapter's layer when the adapter is deleted) and returns it. */
    protected final Module unregisterModule(String name) {
        Module m = modules.remove(name);
        if (m == null) {
            throw new IllegalArgumentException("No child module '" + name + "'; children are " + modules.keySet());
        }
        return m;
    }

    /** Removes a direct parameter, closing its array. */
    protected final void unregisterParameter(String name) {
        Parameter p = parameters.remove(name);
        if (p == null) {
            throw new IllegalArgumentException("No parameter '" + name + "'; parameters are " + parameters.keySet());
        }
        p.close();
    }

    /** Declares a parameter with its shape; its array comes later from a checkpoint or the initializer. */
    protected final Parameter registerParameter(String name, Parameter.Type type, Shape shape, Initializer init) {
        if (parameters.containsKey(name)) {
            throw new IllegalArgumentException("Parameter '" + name + "' is already registered");
        }
        Parameter.Builder b = Parameter.builder().setName(name).setType(type).optShape(shape);
        if (init != null) {
            b.optInitializer(init);
        }
        Parameter p = b.build();
        parameters.put(name, p);
        return p;
    }

    /**
     * Registers a parameter that another module already holds (a tied weight, e.g. an output
     * projection sharing the input embedding): one array under two names, listed and trained once by
     * {@link ModuleTree}. Tie after loading, as transformers' {@code tie_weights} does:
     * {@link #setParameterArray} gives the name it is called on a parameter of its own.
     */
    protected final Parameter registerParameter(String name, Parameter shared) {
        if (parameters.containsKey(name)) {
            throw new IllegalArgumentException("Parameter '" + name + "' is already registered");
        }
        parameters.put(name, shared);
        return shared;
    }

    /**
     * Weight elements this module holds outside its parameters (a quantized layer's codes), counted in
     * the model's totals but never trained.
     */
    public long heldWeightElements() {
        return 0;
    }

    /** Bytes of the weights held outside parameters (codes and quantization state). */
    public long heldWeightBytes() {
        return 0;
    }

    /** The named direct children, in registration order. */
    public final Map<String, Module> modules() {
        return Collections.unmodifiableMap(modules);
    }

    /** The named direct parameters, in registration order. */
    public final Map<String, Parameter> parameters() {
        return Collections.unmodifiableMap(parameters);
    }

    public final Module child(String name) {
        return modules.get(name);
    }

    /** Replaces an existing child; a strategy injecting a layer calls this through {@link ModuleTree}. */
    public final Module replaceChild(String name, Module replacement) {
        if (!modules.containsKey(name)) {
            throw new IllegalArgumentException("No child module '" + name + "' to replace; children are " + modules.keySet());
        }
        return modules.put(name, replacement);
    }

    /** The array of a direct parameter; fails if it has not been loaded or initialized. */
    protected final NDArray param(String name) {
        return parameters.get(name).getArray();
    }

    /** True if this module has a direct parameter of that name. */
    public final boolean hasParameter(String name) {
        return parameters.containsKey(name);
    }

    /**
     * Sets the array of a direct parameter, taking ownership of it. The shape must equal the
     * declared one; whether the parameter is trainable is kept.
     */
    public final void setParameterArray(String name, NDArray array) {
        Parameter old = parameters.get(name);
        if (old == null) {
            throw new IllegalArgumentException("No parameter '" + name + "' in " + getClass().getSimpleName()
                    + "; it has " + parameters.keySet());
        }
        if (old.getShape() != null && !old.getShape().equals(array.getShape())) {
            throw new IllegalArgumentException("Parameter '" + name + "' has shape " + old.getShape()
                    + " but the given array has shape " + array.getShape());
        }
        boolean trainable = old.requiresGradient();
        Parameter p = Parameter.builder()
                .setName(name)
                .setType(old.getType())
                .optShape(array.getShape())
                .optInitializer(old.getInitializer())
                .optArray(array)
                .optRequiresGrad(trainable)
                .build();
        array.setName(name);
        old.close();
        parameters.put(name, p);
        array.setRequiresGradient(trainable);
    }

    /** Runs a child on one array and returns its one output: the common case inside composite modules. */
    protected static NDArray call(Module m, ParameterStore ps, NDArray x, boolean training) {
        return m.forward(ps, new ai.djl.ndarray.NDList(x), training).singletonOrThrow();
    }

    /**
     * A scalar owned by {@code like}'s manager, for arithmetic inside a differentiable forward.
     * DJL's {@code mul(Number)} and {@code div(Number)} wrap the number in a Java-backed tensor and free
     * it at once, yet autograd keeps that tensor for the backward pass: after a GC the gradient reads
     * freed memory (NaN gradients at random steps). A scalar that lives as long as the step avoids it.
     */
    public static NDArray scalar(NDArray like, float value) {
        return like.getManager().create(value).toType(like.getDataType(), false);
    }

    /** Gives every parameter of this subtree that has no array yet one from its initializer. */
    public final void initializeMissing(NDManager manager) {
        for (Parameter p : parameters.values()) {
            if (!p.isInitialized()) {
                p.initialize(manager, DataType.FLOAT32);
            }
        }
        for (Module m : modules.values()) {
            m.initializeMissing(manager);
        }
    }

    /**
     * Initialized when every parameter of the subtree has an array. Parameters carry their shapes
     * from construction, so unlike DJL's default no input shapes need to have been seen.
     */
    @Override
    public boolean isInitialized() {
        for (Parameter p : parameters.values()) {
            if (!p.isInitialized()) {
                return false;
            }
        }
        for (Module m : modules.values()) {
            if (!m.isInitialized()) {
                return false;
            }
        }
        return true;
    }

    /** DJL's initialization path: parameter shapes are already known, so children just fill what is missing. */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, ai.djl.ndarray.types.Shape... inputShapes) {
        for (Module m : modules.values()) {
            m.initializeMissing(manager);
        }
    }

    /** DJL's view of the children; built from the named map so DJL tools see the same tree. */
    @Override
    public BlockList getChildren() {
        Map<String, Block> view = new LinkedHashMap<>(modules);
        return new BlockList(view);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName();
    }
}

package io.peft4j.core.nn;

import ai.djl.nn.Parameter;

/**
 * A parameter with its full dotted name ({@code encoder.layer.0.attention.self.query.weight}), the
 * module that owns it and that module's dotted name.
 */
public final class NamedParameter {
    private final String name;
    private final String moduleName;
    private final Module module;
    private final String localName;

    public NamedParameter(String moduleName, Module module, String localName) {
        this.moduleName = moduleName;
        this.module = module;
        this.localName = localName;
        this.name = moduleName.isEmpty() ? localName : moduleName + "." + localName;
    }

    public String name() {
        return name;
    }

    public String moduleName() {
        return moduleName;
    }

    public Module module() {
        return module;
    }

    /** The name within its module, e.g. {@code weight}. */
    public String localName() {
        return localName;
    }

    /** The current parameter object (modules rebuild it when an array is set, so it is looked up). */
    public Parameter parameter() {
        return module.parameters().get(localName);
    }

    public long size() {
        return parameter().getShape().size();
    }

    public boolean isTrainable() {
        return parameter().requiresGradient();
    }

    @Override
    public String toString() {
        return name;
    }
}

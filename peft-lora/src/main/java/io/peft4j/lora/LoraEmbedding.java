package io.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;

import io.peft4j.core.nn.Embedding;
import io.peft4j.core.nn.ModuleKind;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA on an embedding table: {@code y = E[ids] + scaling * (A^T[ids]) B^T}, with
 * {@code lora_embedding_A} of shape {@code [r, num_embeddings]} and {@code lora_embedding_B} of shape
 * {@code [dim, r]}, kept as HF PEFT keeps them (parameters named by adapter, no {@code .weight}).
 * As in HF PEFT, A starts at zero and B normal (std 1), dropout is not applied to ids, and PiSSA
 * falls back to that default.
 */
public final class LoraEmbedding extends LoraLayer {
    private final Embedding base;
    private final ParameterDict embA;
    private final ParameterDict embB;

    public LoraEmbedding(Embedding base) {
        super(base);
        this.base = base;
        this.embA = registerModule("lora_embedding_A", new ParameterDict());
        this.embB = registerModule("lora_embedding_B", new ParameterDict());
    }

    @Override
    public ModuleKind kind() {
        return ModuleKind.OTHER;
    }

    public Embedding base() {
        return base;
    }

    @Override
    protected void createAdapter(String name, AdapterSettings s, InitLoraWeights init, NDManager manager) {
        if (s.dora()) {
            throw new IllegalArgumentException("DoRA is supported on linear layers only, not on embeddings");
        }
        boolean random = init == InitLoraWeights.RANDOM;
        embA.put(name, new Shape(s.r(), base.numEmbeddings()), random ? new NormalInitializer(1f) : Initializer.ZEROS);
        embB.put(name, new Shape(base.dim(), s.r()), new NormalInitializer(1f));
        embA.initializeMissing(manager);
        embB.initializeMissing(manager);
    }

    @Override
    protected void removeMatrices(String name) {
        embA.remove(name);
        embB.remove(name);
    }

    @Override
    public Map<String, NDArray> adapterArrays(String name) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("lora_embedding_A." + name, embA.get(name));
        out.put("lora_embedding_B." + name, embB.get(name));
        return out;
    }

    @Override
    protected NDArray matrixA(String name) {
        return embA.get(name);
    }

    @Override
    protected NDArray matrixB(String name) {
        return embB.get(name);
    }

    @Override
    protected void setMatrices(String name, NDArray a, NDArray b) {
        embA.setParameterArray(name, a);
        embB.setParameterArray(name, b);
    }

    @Override
    protected NDArray readBaseWeight(NDManager tmp) {
        NDArray w = base.weight();
        w.tempAttach(tmp);
        return w;
    }

    @Override
    protected void writeBaseWeight(NDArray w) {
        base.setParameterArray("weight", w);
    }

    @Override
    protected NDArray delta(String name) {
        return embB.get(name).matMul(embA.get(name)).transpose().mul(settings(name).scaling());
    }

    @Override
    protected NDArray magnitude(String name) {
        return null;
    }

    @Override
    protected NDArray applyAdapter(NDArray ids, NDArray result, String adapter, boolean training) {
        AdapterSettings s = settings(adapter);
        // transpose() of a parameter is created in the parameter's manager: hand the views to the step.
        NDArray aT = embA.get(adapter).transpose();
        aT.attach(result.getManager());
        NDArray bT = embB.get(adapter).transpose();
        bT.attach(result.getManager());
        NDArray afterA = ai.djl.nn.core.Embedding.embedding(ids, aT, SparseFormat.DENSE).singletonOrThrow();
        return result.add(afterA.matMul(bT).mul(scalar(result, s.scaling())));
    }

    @Override
    public String toString() {
        return "LoraEmbedding(" + base + ", adapters=" + adapterNames() + ")";
    }
}

package io.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

import io.peft4j.core.Compute;
import io.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient checkpointing (transformers' {@code gradient_checkpointing_enable()}) for one training
 * forward and backward, opened by the trainer around a micro-batch. Every family runs its stack of
 * layers through {@link #runLayers}; while a session is open on the thread and the forward is a
 * training one, the stack is run without autograd keeping only each layer's input, and its output is
 * handed on as a fresh leaf. After the loss's backward (which stops at that leaf), {@link #backward}
 * recomputes the layers from the last, each from its saved input with autograd, and backpropagates
 * {@code sum(out * upstream)} (the same gradients as chaining through the layer), whose input gradient
 * is the next upstream; finally the embeddings' output takes the last one. DJL has no custom autograd
 * function, which is why the recomputation is driven from here rather than by autograd.
 *
 * <p>So that the recomputation draws the same dropout masks as the first forward, libtorch's
 * generator is reseeded from the session's seed before every layer, and again after the stack (for
 * what follows it), in both forwards. A session without recomputation does only the reseeding: a
 * plain training step then draws the same masks as a checkpointed one.
 *
 * <p>A stack run with a key/value cache (prefix tuning) is not recomputed: the cache grows in the
 * forward and cannot be replayed; it runs plainly under the session's seeds.
 */
public final class GradientCheckpointing implements AutoCloseable {
    /** One layer of a stack: the hidden states after layer {@code index} of {@code hidden}. */
    @FunctionalInterface
    public interface Layer {
        NDArray apply(int index, NDArray hidden);
    }

    private static final ThreadLocal<GradientCheckpointing> CURRENT = new ThreadLocal<>();

    private final long seed;
    private final boolean recompute;
    private final List<Stack> stacks = new ArrayList<>();
    private int runs;
    private NDManager saved;

    /** One checkpointed stack run: what its backward needs. */
    private static final class Stack {
        final int run;
        final Layer layer;
        final NDArray pre;
        final List<NDArray> inputs;
        final NDArray output;

        Stack(int run, Layer layer, NDArray pre, List<NDArray> inputs, NDArray output) {
            this.run = run;
            this.layer = layer;
            this.pre = pre;
            this.inputs = inputs;
            this.output = output;
        }
    }

    private GradientCheckpointing(long seed, boolean recompute) {
        this.seed = seed;
        this.recompute = recompute;
    }

    /**
     * Opens a session on this thread for one forward and backward.
     *
     * @param seed reseeds the generator before each layer (same masks in both forwards)
     * @param recompute true to checkpoint; false only to reseed, as a checkpointed step does
     */
    public static GradientCheckpointing begin(long seed, boolean recompute) {
        if (CURRENT.get() != null) {
            throw new IllegalStateException("A gradient-checkpointing session is already open on this thread");
        }
        GradientCheckpointing session = new GradientCheckpointing(seed, recompute);
        CURRENT.set(session);
        return session;
    }

    /**
     * Runs {@code count} layers from {@code x}: plainly outside a session or in inference, checkpointed
     * inside a recomputing session.
     *
     * @param recomputable false when a layer has side effects a second run would repeat (a growing KV cache)
     */
    public static NDArray runLayers(int count, NDArray x, boolean training, boolean recomputable, Layer layer) {
        GradientCheckpointing session = CURRENT.get();
        if (session == null || !training) {
            for (int i = 0; i < count; i++) {
                x = layer.apply(i, x);
            }
            return x;
        }
        int run = session.runs++;
        if (!session.recompute || !recomputable) {
            for (int i = 0; i < count; i++) {
                session.reseed(run, i);
                x = layer.apply(i, x);
            }
            session.reseed(run, count);
            return x;
        }
        return session.checkpointed(run, count, x, layer);
    }

    private NDArray checkpointed(int run, int count, NDArray x, Layer layer) {
        if (saved == null) {
            saved = x.getManager().newSubManager();
        }
        List<NDArray> inputs = new ArrayList<>(count);
        NDArray h = x.stopGradient();
        h.attach(saved);
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (int i = 0; i < count; i++) {
                inputs.add(h);
                // The layer's temporaries land in the manager of its input: freed as soon as the layer is done.
                try (NDManager temp = saved.newSubManager()) {
                    NDArray in = h.stopGradient();
                    in.attach(temp);
                    reseed(run, i);
                    h = layer.apply(i, in);
                    h.attach(saved);
                }
            }
        } finally {
            JniUtils.setGradMode(gradMode);
        }
        reseed(run, count);
        h.setRequiresGradient(true);
        stacks.add(new Stack(run, layer, x, inputs, h));
        return h;
    }

    /**
     * Backpropagates through the checkpointed stacks, the last first; call inside the collector after
     * the loss's backward. Parameter gradients accumulate as one backward through the whole graph would.
     */
    public void backward(GradientCollector collector) {
        for (int s = stacks.size() - 1; s >= 0; s--) {
            Stack stack = stacks.get(s);
            NDArray upstream = stack.output.getGradient();
            upstream.attach(saved);
            for (int i = stack.inputs.size() - 1; i >= 0; i--) {
                try (NDManager temp = saved.newSubManager()) {
                    NDArray in = stack.inputs.get(i).stopGradient();
                    in.attach(temp);
                    in.setRequiresGradient(true);
                    reseed(stack.run, i);
                    NDArray out = stack.layer.apply(i, in);
                    collector.backward(out.mul(upstream).sum());
                    upstream = in.getGradient();
                    upstream.attach(saved);
                }
            }
            // Into the embeddings (trainable, or carrying adapters or prompts) where autograd reaches them. DJL cannot
            // say whether it does (hasGradient() is false for an operation's result, and asking for the grad_fn of
            // a tensor without one crashes), so the output leaf, which always requires a gradient, anchors the
            // backward with a zero term.
            NDArray anchor = stack.output.sum();
            collector.backward(stack.pre.mul(upstream).sum().add(anchor.mul(Module.scalar(anchor, 0f))));
        }
        stacks.clear();
    }

    private void reseed(int run, int layer) {
        Compute.seed(seed * 1_000_003L + run * 10_007L + layer);
    }

    /** Ends the session on this thread and frees the saved layer inputs. */
    @Override
    public void close() {
        CURRENT.remove();
        stacks.clear();
        if (saved != null) {
            saved.close();
            saved = null;
        }
    }
}

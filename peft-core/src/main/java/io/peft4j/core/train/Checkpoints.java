package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.nn.NamedParameter;
import io.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Training checkpoints as {@code <dir>/checkpoint-<step>/} (transformers' naming) holding the
 * trainable weights, the optimizer moments and {@code trainer_state.json}. A checkpoint is written
 * to a temp directory and renamed into place, so a crash never leaves a half-written one to resume from.
 */
public final class Checkpoints {
    static final String WEIGHTS = "trainable.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String STATE = "trainer_state.json";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final int KEEP = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoints() {}

    static void save(Path dir, PeftModel model, List<NamedParameter> params, AdamW optimizer, long step)
            throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve("checkpoint-" + step);
        Path tmp = Files.createTempDirectory(dir, ".checkpoint-" + step + "-");
        try {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (NamedParameter p : params) {
                weights.put(p.name(), Tensor.view(p.parameter().getArray()));
            }
            SafeTensors.write(tmp.resolve(WEIGHTS), weights);
            SafeTensors.write(tmp.resolve(OPTIMIZER), optimizer.state());
            ObjectNode state = JSON.createObjectNode();
            state.put("global_step", step);
            state.put("optimizer_steps", optimizer.steps());
            state.put("base_model_name_or_path", model.baseModelName());
            Files.writeString(tmp.resolve(STATE), state.toPrettyString());
            if (Files.exists(target)) {
                deleteTree(target);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } finally {
            if (Files.exists(tmp)) {
                deleteTree(tmp);
            }
        }
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - KEEP; i++) {
            deleteTree(all.get(i));
        }
    }

    /** Restores the newest checkpoint into the model and optimizer; returns its step, or 0 if none. */
    static long restoreLatest(Path dir, PeftModel model, List<NamedParameter> params, AdamW optimizer)
            throws IOException {
        List<Path> all = list(dir);
        if (all.isEmpty()) {
            return 0;
        }
        Path latest = all.get(all.size() - 1);
        JsonNode state = JSON.readTree(latest.resolve(STATE).toFile());
        long step = state.path("global_step").asLong(-1);
        if (step < 0) {
            throw new IOException(latest.resolve(STATE) + ": no 'global_step'");
        }
        Map<String, Tensor> weights = SafeTensors.read(latest.resolve(WEIGHTS)).tensors();
        Set<String> trainable = params.stream().map(NamedParameter::name).collect(Collectors.toSet());
        if (!weights.keySet().equals(trainable)) {
            throw new IOException(latest + " holds weights for " + new java.util.TreeSet<>(weights.keySet())
                    + " but the model trains " + new java.util.TreeSet<>(trainable)
                    + ": it was written by a run with another strategy or config");
        }
        Map<String, Tensor> moments = SafeTensors.read(latest.resolve(OPTIMIZER)).tensors();
        WeightLoader.load(model, weights, "", latest.resolve(WEIGHTS).toString(), name -> !trainable.contains(name));
        optimizer.load(moments, state.path("optimizer_steps").asLong(step));
        return step;
    }

    /** Complete checkpoints in {@code dir}, oldest first. */
    static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(STATE)))
                    .forEach(out::add);
        }
        out.sort(Comparator.comparingLong(Checkpoints::stepOf));
        return out;
    }

    private static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(q);
            }
        }
    }
}

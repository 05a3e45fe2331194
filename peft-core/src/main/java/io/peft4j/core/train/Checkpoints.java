package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.peft4j.core.PeftModel;
import io.peft4j.core.io.FileTrees;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Training checkpoints as {@code <dir>/checkpoint-<step>/} (transformers' naming) holding every weight
 * the run has trained so far, the optimizer moments, {@code trainer_state.json} (steps, and which
 * parameters train now: a strategy may change that during the run) and the state of each callback that
 * has one ({@code callback-<name>.safetensors} + {@code .json}). A checkpoint is written to a temp
 * directory and renamed into place, so a crash never leaves a half-written one to resume from.
 */
public final class Checkpoints {
    static final String WEIGHTS = "trainable.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String STATE = "trainer_state.json";
    private static final String CALLBACK_PREFIX = "callback-";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final int KEEP = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoints() {}

    /** What a restored checkpoint gave back: its step and the names of the weights it held. */
    static final class Restored {
        final long step;
        final Set<String> weights;

        Restored(long step, Set<String> weights) {
            this.step = step;
            this.weights = weights;
        }
    }

    /**
     * Saves {@code weightNames}' arrays, the optimizer, the current trainable set and the callbacks'
     * states as the checkpoint of {@code step}, keeping the newest {@value #KEEP}.
     */
    static void save(Path dir, PeftModel model, Set<String> weightNames, AdamW optimizer, long step,
            List<TrainerCallback> callbacks) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve("checkpoint-" + step);
        Path tmp = Files.createTempDirectory(dir, ".checkpoint-" + step + "-");
        try {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            ArrayNode trainable = JSON.createArrayNode();
            for (NamedParameter p : model.namedParameters()) {
                if (weightNames.contains(p.name())) {
                    weights.put(p.name(), Tensor.view(p.parameter().getArray()));
                }
                if (p.isTrainable()) {
                    trainable.add(p.name());
                }
            }
            SafeTensors.write(tmp.resolve(WEIGHTS), weights);
            SafeTensors.write(tmp.resolve(OPTIMIZER), optimizer.stateViews());
            ObjectNode state = JSON.createObjectNode();
            state.put("global_step", step);
            state.put("optimizer_steps", optimizer.steps());
            state.put("base_model_name_or_path", model.baseModelName());
            state.set("trainable", trainable);
            Files.writeString(tmp.resolve(STATE), state.toPrettyString());
            for (TrainerCallback c : callbacks) {
                CheckpointState s = c.state();
                if (s.isEmpty()) {
                    continue;
                }
                if (!s.tensors().isEmpty()) {
                    SafeTensors.write(tmp.resolve(CALLBACK_PREFIX + c.name() + ".safetensors"), s.tensors());
                }
                Files.writeString(tmp.resolve(CALLBACK_PREFIX + c.name() + ".json"), s.json().toPrettyString());
            }
            FileTrees.delete(target);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } finally {
            FileTrees.delete(tmp);
        }
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - KEEP; i++) {
            FileTrees.delete(all.get(i));
        }
    }

    /**
     * Restores the newest checkpoint into the model (weights and trainable set), the optimizer and the
     * callbacks; returns null when there is none. Everything is read and checked before the model changes.
     */
    static Restored restoreLatest(Path dir, PeftModel model, AdamW optimizer, List<TrainerCallback> callbacks)
            throws IOException {
        List<Path> all = list(dir);
        if (all.isEmpty()) {
            return null;
        }
        Path latest = all.get(all.size() - 1);
        JsonNode state = JSON.readTree(latest.resolve(STATE).toFile());
        long step = state.path("global_step").asLong(-1);
        if (step < 0) {
            throw new IOException(latest.resolve(STATE) + ": no 'global_step'");
        }
        Map<String, Tensor> weights = SafeTensors.read(latest.resolve(WEIGHTS)).tensors();
        Set<String> modelNames = model.namedParameters().stream().map(NamedParameter::name)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> unknown = new TreeSet<>(weights.keySet());
        unknown.removeAll(modelNames);
        if (!unknown.isEmpty()) {
            throw new IOException(latest + " holds weights " + unknown + " that the model does not have"
                    + ": it was written by a run with another strategy or config");
        }
        Set<String> trainable = trainableSet(latest, state, weights.keySet(), model);
        Map<TrainerCallback, CheckpointState> callbackStates = callbackStates(latest, callbacks);
        Map<String, Tensor> moments = SafeTensors.read(latest.resolve(OPTIMIZER)).tensors();

        WeightLoader.load(model, weights, "", latest.resolve(WEIGHTS).toString(), name -> !weights.containsKey(name));
        for (NamedParameter p : model.namedParameters()) {
            boolean train = trainable.contains(p.name());
            if (p.isTrainable() != train) {
                p.parameter().freeze(!train);
            }
        }
        optimizer.load(moments, state.path("optimizer_steps").asLong(step));
        for (Map.Entry<TrainerCallback, CheckpointState> e : callbackStates.entrySet()) {
            e.getKey().restore(e.getValue());
        }
        return new Restored(step, new LinkedHashSet<>(weights.keySet()));
    }

    /**
     * The parameters that trained when the checkpoint was written. A checkpoint from before the
     * trainable set was recorded trained exactly its weights, which must then be what the model trains.
     */
    private static Set<String> trainableSet(Path latest, JsonNode state, Set<String> weights, PeftModel model)
            throws IOException {
        JsonNode list = state.get("trainable");
        if (list == null) {
            Set<String> now = model.trainableParameters().stream().map(NamedParameter::name).collect(Collectors.toSet());
            if (!weights.equals(now)) {
                throw new IOException(latest + " holds weights for " + new TreeSet<>(weights)
                        + " but the model trains " + new TreeSet<>(now)
                        + ": it was written by a run with another strategy or config");
            }
            return now;
        }
        if (!list.isArray()) {
            throw new IOException(latest.resolve(STATE) + ": 'trainable' must be an array of parameter names");
        }
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode n : list) {
            if (!n.isTextual() || !weights.contains(n.asText())) {
                throw new IOException(latest.resolve(STATE) + ": trainable parameter " + n
                        + " has no weight in " + WEIGHTS);
            }
            out.add(n.asText());
        }
        return out;
    }

    /** The saved states by callback; a state no callback of the trainer claims is an error naming it. */
    private static Map<TrainerCallback, CheckpointState> callbackStates(Path latest, List<TrainerCallback> callbacks)
            throws IOException {
        Map<String, TrainerCallback> byName = new LinkedHashMap<>();
        callbacks.forEach(c -> byName.put(c.name(), c));
        Map<TrainerCallback, CheckpointState> out = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(latest)) {
            files = s.filter(p -> {
                String f = p.getFileName().toString();
                return f.startsWith(CALLBACK_PREFIX) && f.endsWith(".json");
            }).sorted().collect(Collectors.toList());
        }
        for (Path json : files) {
            String f = json.getFileName().toString();
            String name = f.substring(CALLBACK_PREFIX.length(), f.length() - ".json".length());
            TrainerCallback c = byName.get(name);
            if (c == null) {
                throw new IOException(json + " holds the state of callback '" + name
                        + "', but the trainer has no callback of that name (it has " + byName.keySet()
                        + "): add the callback the run was started with");
            }
            Path tensorsFile = latest.resolve(CALLBACK_PREFIX + name + ".safetensors");
            Map<String, Tensor> tensors = Files.isRegularFile(tensorsFile)
                    ? SafeTensors.read(tensorsFile).tensors() : Map.of();
            out.put(c, CheckpointState.of(tensors, JSON.readTree(json.toFile())));
        }
        return out;
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
}

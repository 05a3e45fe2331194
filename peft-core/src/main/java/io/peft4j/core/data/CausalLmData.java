package io.peft4j.core.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Examples for {@link io.peft4j.core.task.CausalLanguageModeling}, tokenized once when read. A record is one of TRL's
 * dataset shapes:
 * <ul>
 *   <li>{@code prompt} + {@code completion}: the prompt's tokens are masked ({@code -100}) when
 *       {@link Builder#maskPrompt} is on (the default, as TRL's {@code completion_only_loss});
 *   <li>{@code messages}, a list of {@code {role, content}} (roles {@code system}, {@code user},
 *       {@code assistant}, {@code tool}), rendered by a simple fixed chat format: each message as
 *       {@code <|role|>\n} + content + {@code \n}; with {@link Builder#maskPrompt} only the assistants'
 *       contents are trained (as TRL's {@code assistant_only_loss}). Models' own chat templates come
 *       with the decoder families; in CSV/TSV the cell holds the list as JSON text;
 *   <li>{@code text}: every token is trained.
 * </ul>
 * Pieces are tokenized without special tokens and concatenated; an end-of-sequence token, when given,
 * follows each completion and assistant message (and is trained, so the model learns to stop). Examples
 * are truncated to the tokenizer's {@code maxLength} and padded per batch on the right with
 * {@code attention_mask} 0 and label {@code -100}. Batches hold {@code input_ids}, {@code attention_mask}
 * and {@code labels} (the inputs themselves; the task shifts them).
 */
public final class CausalLmData implements Batches {
    public static final String PROMPT = "prompt";
    public static final String COMPLETION = "completion";
    public static final String MESSAGES = "messages";
    public static final String TEXT = "text";
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<long[]> ids;
    private final List<boolean[]> trained;
    private final long padTokenId;

    private CausalLmData(List<long[]> ids, List<boolean[]> trained, long padTokenId) {
        this.ids = List.copyOf(ids);
        this.trained = List.copyOf(trained);
        this.padTokenId = padTokenId;
    }

    public static Builder builder(TextTokenizer tokenizer) {
        return new Builder(tokenizer);
    }

    @Override
    public int size() {
        return ids.size();
    }

    /** The token ids of example {@code i} (a copy). */
    public long[] inputIds(int i) {
        return ids.get(i).clone();
    }

    /** The labels of example {@code i}: the id where the token is trained, {@code -100} where it is masked. */
    public long[] labels(int i) {
        long[] x = ids.get(i);
        boolean[] t = trained.get(i);
        long[] out = new long[x.length];
        for (int k = 0; k < x.length; k++) {
            out[k] = t[k] ? x[k] : Batch.IGNORE_INDEX;
        }
        return out;
    }

    @Override
    public Batch batch(NDManager manager, int[] indices) {
        int t = 0;
        for (int i : indices) {
            t = Math.max(t, ids.get(i).length);
        }
        long[] flatIds = new long[indices.length * t];
        long[] mask = new long[flatIds.length];
        long[] labels = new long[flatIds.length];
        Arrays.fill(flatIds, padTokenId);
        Arrays.fill(labels, Batch.IGNORE_INDEX);
        for (int r = 0; r < indices.length; r++) {
            long[] x = ids.get(indices[r]);
            long[] y = labels(indices[r]);
            System.arraycopy(x, 0, flatIds, r * t, x.length);
            System.arraycopy(y, 0, labels, r * t, y.length);
            Arrays.fill(mask, r * t, r * t + x.length, 1L);
        }
        Shape s = new Shape(indices.length, t);
        return Batch.builder(indices.length)
                .put(Batch.INPUT_IDS, manager.create(flatIds, s))
                .put(Batch.ATTENTION_MASK, manager.create(mask, s))
                .put(Batch.LABELS, manager.create(labels, s))
                .build();
    }

    public static final class Builder {
        private final TextTokenizer tokenizer;
        private boolean maskPrompt = true;
        private Long eosTokenId;
        private long padTokenId;

        private Builder(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        /** Whether prompt tokens (and non-assistant messages) are labelled {@code -100}; default true. */
        public Builder maskPrompt(boolean maskPrompt) {
            this.maskPrompt = maskPrompt;
            return this;
        }

        /** A token appended after each completion and assistant message, e.g. {@code </s>}; it must be one token. */
        public Builder eosToken(String token) {
            this.eosTokenId = tokenizer.tokenId(token);
            return this;
        }

        /** The id padding positions hold (masked anyway); default 0. */
        public Builder padTokenId(long id) {
            this.padTokenId = id;
            return this;
        }

        /** Reads a JSONL, CSV or TSV file (by extension). */
        public CausalLmData read(Path file) throws IOException {
            return of(Records.read(file));
        }

        public CausalLmData of(List<Record> records) throws IOException {
            List<long[]> ids = new ArrayList<>();
            List<boolean[]> trained = new ArrayList<>();
            for (Record r : records) {
                Pieces p = new Pieces();
                if (r.has(MESSAGES)) {
                    chat(r, p);
                } else if (r.has(PROMPT) || r.has(COMPLETION)) {
                    p.add(r.string(PROMPT), !maskPrompt);
                    p.add(r.string(COMPLETION), true);
                    p.eos();
                } else if (r.has(TEXT)) {
                    p.add(r.string(TEXT), true);
                } else {
                    throw r.error("expected 'prompt' and 'completion', 'messages', or 'text'");
                }
                int n = Math.min(p.ids.size(), tokenizer.maxLength());
                if (n < 2) {
                    throw r.error("the example has " + n + " token(s); causal language modelling needs at least 2");
                }
                long[] x = new long[n];
                boolean[] t = new boolean[n];
                boolean any = false;
                for (int k = 0; k < n; k++) {
                    x[k] = p.ids.get(k);
                    t[k] = p.trained.get(k);
                    any |= k > 0 && t[k];
                }
                if (!any) {
                    throw r.error("no token to learn within the first " + n + " tokens (all masked or truncated)");
                }
                ids.add(x);
                trained.add(t);
            }
            return new CausalLmData(ids, trained, padTokenId);
        }

        private void chat(Record r, Pieces p) throws IOException {
            JsonNode messages = r.node(MESSAGES);
            if (messages.isTextual()) {
                try {
                    messages = JSON.readTree(messages.asText());
                } catch (JsonProcessingException e) {
                    throw r.error("field 'messages' is not valid JSON: " + e.getOriginalMessage());
                }
            }
            if (!messages.isArray() || messages.isEmpty()) {
                throw r.error("field 'messages' must be a non-empty list of {\"role\", \"content\"} objects");
            }
            boolean assistant = false;
            for (int i = 0; i < messages.size(); i++) {
                JsonNode m = messages.get(i);
                String where = "field 'messages[" + i + "]";
                if (!m.isObject() || !m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw r.error(where + "' must be an object with string 'role' and 'content'");
                }
                String role = m.get("role").asText();
                if (!ROLES.contains(role)) {
                    throw r.error(where + ".role' is '" + role + "'; expected one of " + ROLES);
                }
                boolean learn = !maskPrompt || role.equals("assistant");
                assistant |= role.equals("assistant");
                p.add("<|" + role + "|>\n", !maskPrompt);
                p.add(m.get("content").asText(), learn);
                if (role.equals("assistant")) {
                    p.eos();
                }
                p.add("\n", !maskPrompt);
            }
            if (maskPrompt && !assistant) {
                throw r.error("field 'messages' has no 'assistant' message: with the prompt masked nothing would be learned");
            }
        }

        /** Token ids and whether each is trained, assembled piece by piece. */
        private final class Pieces {
            final List<Long> ids = new ArrayList<>();
            final List<Boolean> trained = new ArrayList<>();

            void add(String text, boolean learn) {
                for (long id : tokenizer.tokenIds(text)) {
                    ids.add(id);
                    trained.add(learn);
                }
            }

            void eos() {
                if (eosTokenId != null) {
                    ids.add(eosTokenId);
                    trained.add(true);
                }
            }
        }
    }
}

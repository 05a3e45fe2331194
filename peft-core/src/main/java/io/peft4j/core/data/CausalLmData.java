package io.peft4j.core.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.peft4j.core.text.ChatMessage;
import io.peft4j.core.text.ChatTemplate;
import io.peft4j.core.text.TextTokenizer;
import io.peft4j.core.text.TokenizerConfig;

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
 *       {@code assistant}, {@code tool}): rendered with the model's chat template when one is given
 *       ({@link Builder#chatTemplate}; see {@link ChatTemplateExamples} for how the assistant's tokens are
 *       found), otherwise by a simple fixed format: each message as {@code <|role|>\n} + content + {@code \n}.
 *       With {@link Builder#maskPrompt} only the assistants' turns are trained (TRL's {@code assistant_only_loss}).
 *       In CSV/TSV the cell holds the list as JSON text;
 *   <li>{@code text}: every token is trained.
 * </ul>
 * Outside the chat template, pieces are tokenized without special tokens and concatenated; BOS starts
 * prompt/completion and text examples when {@link Builder#bosToken} is given, EOS follows each completion
 * and simple-format assistant turn (trained, so the model learns to stop) and, with
 * {@link Builder#addEosToText}, each text. Examples longer than {@link Builder#maxLength} are truncated on the
 * {@link Builder#truncationSide}, or, with {@link Builder#packing}, concatenated and cut into full rows
 * ({@link PackedRows}). Batches hold {@code input_ids}, {@code attention_mask} and {@code labels} (the
 * inputs themselves; the task shifts them), padded on the {@link Builder#paddingSide} with mask 0 and label
 * {@code -100}; left-padded batches also hold {@code position_ids} counting from each example's first token.
 */
public final class CausalLmData implements Batches {
    public static final String PROMPT = "prompt";
    public static final String COMPLETION = "completion";
    public static final String MESSAGES = "messages";
    public static final String TEXT = "text";
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<TokenizedExample> rows;
    private final long padTokenId;
    private final Side paddingSide;

    private CausalLmData(List<TokenizedExample> rows, long padTokenId, Side paddingSide) {
        this.rows = List.copyOf(rows);
        this.padTokenId = padTokenId;
        this.paddingSide = paddingSide;
    }

    public static Builder builder(TextTokenizer tokenizer) {
        return new Builder(tokenizer);
    }

    @Override
    public int size() {
        return rows.size();
    }

    /** The token ids of example (or packed row) {@code i} (a copy). */
    public long[] inputIds(int i) {
        return rows.get(i).ids().clone();
    }

    /** The labels of example {@code i}: the id where the token is trained, {@code -100} where it is masked. */
    public long[] labels(int i) {
        TokenizedExample e = rows.get(i);
        long[] out = new long[e.length()];
        for (int k = 0; k < out.length; k++) {
            out[k] = e.trained()[k] ? e.ids()[k] : Batch.IGNORE_INDEX;
        }
        return out;
    }

    @Override
    public Batch batch(NDManager manager, int[] indices) {
        int t = 0;
        for (int i : indices) {
            t = Math.max(t, rows.get(i).length());
        }
        long[] flatIds = new long[indices.length * t];
        long[] mask = new long[flatIds.length];
        long[] labels = new long[flatIds.length];
        long[] positions = new long[flatIds.length];
        Arrays.fill(flatIds, padTokenId);
        Arrays.fill(labels, Batch.IGNORE_INDEX);
        for (int r = 0; r < indices.length; r++) {
            long[] x = rows.get(indices[r]).ids();
            long[] y = labels(indices[r]);
            int at = r * t + (paddingSide == Side.LEFT ? t - x.length : 0);
            System.arraycopy(x, 0, flatIds, at, x.length);
            System.arraycopy(y, 0, labels, at, y.length);
            Arrays.fill(mask, at, at + x.length, 1L);
            for (int k = 0; k < x.length; k++) {
                positions[at + k] = k;
            }
        }
        Shape s = new Shape(indices.length, t);
        Batch.Builder b = Batch.builder(indices.length)
                .put(Batch.INPUT_IDS, manager.create(flatIds, s))
                .put(Batch.ATTENTION_MASK, manager.create(mask, s))
                .put(Batch.LABELS, manager.create(labels, s));
        if (paddingSide == Side.LEFT) {
            // Without them a family counts positions from the first column, padding included.
            b.put(Batch.POSITION_IDS, manager.create(positions, s));
        }
        return b.build();
    }

    public static final class Builder {
        private final TextTokenizer tokenizer;
        private boolean maskPrompt = true;
        private Long bosTokenId;
        private Long eosTokenId;
        private boolean addEosToText;
        private long padTokenId;
        private ChatTemplate chatTemplate;
        private int maxLength;
        private Side truncationSide = Side.RIGHT;
        private Side paddingSide = Side.RIGHT;
        private boolean packing;

        private Builder(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            this.maxLength = tokenizer.maxLength();
        }

        /**
         * Everything a model directory's tokenizer settings decide: its chat template, EOS after completions
         * ({@code eos_token}), BOS when {@code add_bos_token}, EOS after texts when {@code add_eos_token}, the pad
         * token's id, and the padding and truncation sides. Options set afterwards override them.
         */
        public Builder tokenizerConfig(TokenizerConfig config) {
            config.chatTemplate().ifPresent(this::chatTemplate);
            config.eosToken().ifPresent(this::eosToken);
            if (config.addBosToken()) {
                config.bosToken().ifPresent(this::bosToken);
            }
            addEosToText(config.addEosToken());
            config.padToken().ifPresent(t -> padTokenId(tokenizer.tokenId(t)));
            paddingSide(Side.of(config.paddingSide()));
            truncationSide(Side.of(config.truncationSide()));
            return this;
        }

        /** Whether prompt tokens (and non-assistant messages) are labelled {@code -100}; default true. */
        public Builder maskPrompt(boolean maskPrompt) {
            this.maskPrompt = maskPrompt;
            return this;
        }

        /** A token prepended to prompt/completion and text examples, e.g. {@code <s>}; it must be one token. */
        public Builder bosToken(String token) {
            this.bosTokenId = tokenizer.tokenId(token);
            return this;
        }

        /** A token appended after each completion and assistant message, e.g. {@code </s>}; it must be one token. */
        public Builder eosToken(String token) {
            this.eosTokenId = tokenizer.tokenId(token);
            return this;
        }

        /** Whether {@code text} examples end with the EOS token too (tokenizer_config's {@code add_eos_token}); default false. */
        public Builder addEosToText(boolean add) {
            this.addEosToText = add;
            return this;
        }

        /** The id padding positions hold (masked anyway); default 0. */
        public Builder padTokenId(long id) {
            this.padTokenId = id;
            return this;
        }

        /** The template {@code messages} records are rendered with; null for the simple fixed format. */
        public Builder chatTemplate(ChatTemplate template) {
            this.chatTemplate = template;
            return this;
        }

        /** Tokens per example (per row when packing) at most; default the tokenizer's {@code maxLength}. */
        public Builder maxLength(int maxLength) {
            if (maxLength < 2) {
                throw new IllegalArgumentException("maxLength must be at least 2 tokens, got " + maxLength);
            }
            this.maxLength = maxLength;
            return this;
        }

        /** Which end of a too-long example is cut: {@link Side#RIGHT} (the default) keeps its start. */
        public Builder truncationSide(Side side) {
            this.truncationSide = side;
            return this;
        }

        /** Which end padding goes to; default {@link Side#RIGHT}. */
        public Builder paddingSide(Side side) {
            this.paddingSide = side;
            return this;
        }

        /** Concatenate the examples and cut them into rows of {@code maxLength} tokens ({@link PackedRows}); default off. */
        public Builder packing(boolean packing) {
            this.packing = packing;
            return this;
        }

        /** Reads a JSONL, CSV or TSV file (by extension). */
        public CausalLmData read(Path file) throws IOException {
            return of(Records.read(file));
        }

        public CausalLmData of(List<Record> records) throws IOException {
            List<TokenizedExample> examples = new ArrayList<>();
            for (Record r : records) {
                TokenizedExample e = encode(r);
                if (e.length() < 2) {
                    throw r.error("the example has " + e.length() + " token(s); causal language modelling needs at least 2");
                }
                if (!packing) {
                    e = e.truncate(maxLength, truncationSide);
                }
                if (!e.learnsSomething()) {
                    throw r.error("no token to learn" + (packing ? "" : " within the " + truncationSide + "-truncated "
                            + e.length() + " tokens") + " (all masked" + (packing ? ")" : " or cut off)"));
                }
                examples.add(e);
            }
            return new CausalLmData(packing ? PackedRows.pack(examples, maxLength) : examples, padTokenId, paddingSide);
        }

        private TokenizedExample encode(Record r) throws IOException {
            if (r.has(MESSAGES)) {
                List<ChatMessage> messages = messages(r);
                if (chatTemplate != null) {
                    return new ChatTemplateExamples(chatTemplate, tokenizer).encode(r, messages, maskPrompt);
                }
                return simpleChat(messages);
            }
            Pieces p = new Pieces();
            p.bos();
            if (r.has(PROMPT) || r.has(COMPLETION)) {
                p.add(r.string(PROMPT), !maskPrompt);
                p.add(r.string(COMPLETION), true);
                p.eos();
            } else if (r.has(TEXT)) {
                p.add(r.string(TEXT), true);
                if (addEosToText) {
                    p.eos();
                }
            } else {
                throw r.error("expected 'prompt' and 'completion', 'messages', or 'text'");
            }
            return p.example();
        }

        private List<ChatMessage> messages(Record r) throws IOException {
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
            List<ChatMessage> out = new ArrayList<>();
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
                out.add(new ChatMessage(role, m.get("content").asText()));
            }
            if (maskPrompt && out.stream().noneMatch(m -> m.role().equals("assistant"))) {
                throw r.error("field 'messages' has no 'assistant' message: with the prompt masked nothing would be learned");
            }
            return out;
        }

        /** The fixed format for models without a chat template. */
        private TokenizedExample simpleChat(List<ChatMessage> messages) {
            Pieces p = new Pieces();
            for (ChatMessage m : messages) {
                boolean assistant = m.role().equals("assistant");
                p.add("<|" + m.role() + "|>\n", !maskPrompt);
                p.add(m.content(), !maskPrompt || assistant);
                if (assistant) {
                    p.eos();
                }
                p.add("\n", !maskPrompt);
            }
            return p.example();
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

            void bos() {
                if (bosTokenId != null) {
                    ids.add(bosTokenId);
                    trained.add(false);
                }
            }

            void eos() {
                if (eosTokenId != null) {
                    ids.add(eosTokenId);
                    trained.add(true);
                }
            }

            TokenizedExample example() {
                long[] x = new long[ids.size()];
                boolean[] t = new boolean[x.length];
                for (int k = 0; k < x.length; k++) {
                    x[k] = ids.get(k);
                    t[k] = trained.get(k);
                }
                return new TokenizedExample(x, t);
            }
        }
    }
}

package io.peft4j.benchmarks.decoder;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The decoder benchmark's one Markdown table: per model, a row per training method (step time, tokens/s,
 * peak RSS and their ratios to full fine-tuning measured in the same run) and two generation rows (with
 * and without the KV cache). A skipped or failed run keeps its row, with the reason.
 */
final class DecoderTable {
    private DecoderTable() {}

    /** One model's measurements, by job; a job's node holds {@code skipped} instead of figures when it did not run. */
    static final class ModelResults {
        final String label;
        final long parameters;
        final String checkpoint;
        final Map<DecoderJob, JsonNode> runs;

        ModelResults(String label, long parameters, String checkpoint, Map<DecoderJob, JsonNode> runs) {
            this.label = label;
            this.parameters = parameters;
            this.checkpoint = checkpoint;
            this.runs = runs;
        }
    }

    static String render(String machine, String setup, List<ModelResults> models) {
        StringBuilder sb = new StringBuilder();
        sb.append("Decoder benchmark. Machine: ").append(machine).append(".\n").append(setup).append("\n\n");
        sb.append("| model | run | trainable | load | peak RSS | time | tokens/s | vs. baseline |\n");
        sb.append("|---|---|---:|---:|---:|---|---:|---|\n");
        for (ModelResults m : models) {
            String model = String.format(Locale.ROOT, "%s, %s params, %s", m.label, millions(m.parameters), m.checkpoint);
            JsonNode full = m.runs.get(DecoderJob.FULL);
            boolean fullRan = full != null && !full.has("skipped");
            boolean first = true;
            for (Map.Entry<DecoderJob, JsonNode> e : m.runs.entrySet()) {
                DecoderJob job = e.getKey();
                // The model is named on its first row only: the table stays readable.
                String cell = first ? model : "";
                first = false;
                JsonNode r = e.getValue();
                if (r.has("skipped")) {
                    sb.append(String.format(Locale.ROOT, "| %s | %s | | | | skipped: %s | | |%n", cell, job.label,
                            r.get("skipped").asText()));
                } else if (job.trains()) {
                    String ratio = fullRan ? String.format(Locale.ROOT, "step ×%.2f, RSS ×%.2f of full",
                            r.get("median_step_ms").asDouble() / full.get("median_step_ms").asDouble(),
                            r.get("peak_rss_kb").asDouble() / full.get("peak_rss_kb").asDouble()) : "full did not run";
                    sb.append(String.format(Locale.ROOT, "| %s | %s | %s (%.2f%%) | %.1f s | %s | step %.0f ms (median of %d; %.0f–%.0f) | %.1f | %s |%n",
                            cell, job.label, millions(r.get("trainable").asLong()),
                            100.0 * r.get("trainable").asLong() / r.get("total").asLong(), r.get("load_ms").asDouble() / 1000,
                            gb(r.get("peak_rss_kb").asLong()), r.get("median_step_ms").asDouble(), r.get("steps").asInt(),
                            r.get("min_step_ms").asDouble(), r.get("max_step_ms").asDouble(), r.get("tokens_per_s").asDouble(),
                            ratio));
                } else {
                    generationRows(sb, cell, r);
                }
            }
        }
        return sb.toString();
    }

    private static void generationRows(StringBuilder sb, String model, JsonNode r) {
        String what = String.format(Locale.ROOT, "greedy, %d new tokens after %d", r.get("new_tokens").asInt(),
                r.get("prompt_tokens").asInt());
        double cached = r.get("cache_tokens_per_s").asDouble();
        double uncached = r.get("no_cache_tokens_per_s").asDouble();
        sb.append(String.format(Locale.ROOT, "| %s | %s, KV cache | | %.1f s | %s | first token %.0f ms, then %.1f tokens/s | %.1f | ×%.2f of no cache; same ids: %s |%n",
                model, what, r.get("load_ms").asDouble() / 1000, gb(r.get("peak_rss_kb").asLong()),
                r.get("cache_first_token_ms").asDouble(), r.path("cache_decode_tokens_per_s").asDouble(), cached,
                cached / uncached, r.get("same_ids").asBoolean() ? "yes" : "no"));
        sb.append(String.format(Locale.ROOT, "| %s | %s, no cache | | | (same run) | first token %.0f ms, then %.1f tokens/s | %.1f | baseline |%n",
                "", what, r.get("no_cache_first_token_ms").asDouble(), r.path("no_cache_decode_tokens_per_s").asDouble(),
                uncached));
    }

    static String millions(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.1fM", n / 1e6);
        }
        if (n >= 10_000L) {
            return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        }
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String gb(long kb) {
        return String.format(Locale.ROOT, "%.2f GiB", kb / 1048576.0);
    }
}

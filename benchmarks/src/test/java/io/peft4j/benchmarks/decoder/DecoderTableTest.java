package io.peft4j.benchmarks.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table's ratios and rows, on figures made up here whose ratios are worked out by hand. */
class DecoderTableTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode training(String job, long trainable, double stepMs, long rssKb) throws Exception {
        return JSON.readTree(String.format(java.util.Locale.ROOT, "{\"job\":\"%s\",\"trainable\":%d,\"total\":1000,"
                + "\"load_ms\":1500,\"peak_rss_kb\":%d,\"median_step_ms\":%s,\"min_step_ms\":%s,\"max_step_ms\":%s,"
                + "\"steps\":5,\"tokens_per_s\":%s}", job, trainable, rssKb, stepMs, stepMs, stepMs, 512 / (stepMs / 1000)));
    }

    @Test
    void ratiosAreToFullFineTuningOfTheSameModel() throws Exception {
        Map<DecoderJob, JsonNode> runs = new LinkedHashMap<>();
        runs.put(DecoderJob.LORA, training("LORA", 10, 250, 1048576));
        runs.put(DecoderJob.QLORA, JSON.readTree("{\"job\":\"QLORA\",\"skipped\":\"needs about 30.0 GB\"}"));
        runs.put(DecoderJob.FULL, training("FULL", 1000, 1000, 4 * 1048576));
        runs.put(DecoderJob.GENERATE, JSON.readTree("{\"job\":\"GENERATE\",\"load_ms\":900,\"peak_rss_kb\":2097152,"
                + "\"prompt_tokens\":64,\"new_tokens\":64,\"cache_tokens_per_s\":30,\"cache_first_token_ms\":100,"
                + "\"cache_decode_tokens_per_s\":32,\"no_cache_tokens_per_s\":10,\"no_cache_first_token_ms\":100,"
                + "\"no_cache_decode_tokens_per_s\":10.5,\"same_ids\":true}"));
        String table = DecoderTable.render("test machine", "test setup",
                List.of(new DecoderTable.ModelResults("model A", 1000, "bf16 checkpoint", runs)));
        String[] lines = table.split("\n");
        // Header line, setup, blank, table header, separator, then 3 training rows and 2 generation rows.
        assertEquals(10, lines.length, table);
        // 250 ms / 1000 ms and 1 GB / 4 GB; 512 tokens in 0.25 s.
        assertTrue(lines[5].contains("step ×0.25, RSS ×0.25 of full"), lines[5]);
        assertTrue(lines[5].contains("| 2048.0 |"), lines[5]);
        assertTrue(lines[5].contains("10 (1.00%)"), lines[5]);
        assertTrue(lines[6].contains("skipped: needs about 30.0 GB"), lines[6]);
        assertTrue(lines[7].contains("step ×1.00, RSS ×1.00 of full"), lines[7]);
        // 30 tokens/s with the cache against 10 without.
        assertTrue(lines[8].contains("×3.00 of no cache; same ids: yes"), lines[8]);
        assertTrue(lines[9].contains("| 10.0 | baseline |"), lines[9]);
        assertTrue(lines[5].startsWith("| model A, 1,000 params, bf16 checkpoint |"), lines[5]);
        assertTrue(lines[6].startsWith("|  |"), "the model is named on its first row only: " + lines[6]);
    }

    @Test
    void withoutFullFineTuningNoRatioIsInvented() throws Exception {
        Map<DecoderJob, JsonNode> runs = new LinkedHashMap<>();
        runs.put(DecoderJob.LORA, training("LORA", 10, 250, 1048576));
        runs.put(DecoderJob.FULL, JSON.readTree("{\"job\":\"FULL\",\"skipped\":\"needs about 25.1 GB (estimate)\"}"));
        String table = DecoderTable.render("m", "s", List.of(new DecoderTable.ModelResults("B", 1000, "bf16", runs)));
        assertTrue(table.contains("| full did not run |"), table);
    }
}

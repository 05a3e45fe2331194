package io.peft4j.core.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Packing as TRL's {@code packing_strategy="wrapped"} (its original constant-length packing): examples,
 * each already ending in its EOS, are concatenated and cut into rows of exactly {@code rowLength} tokens;
 * an example may continue on the next row. Attention is not kept within an example: the model families
 * take a {@code [B, T]} padding mask, not a block-diagonal one, so a token attends to the examples before
 * it in its row, as in TRL's wrapped packing. Positions run 0..T-1 per row. A last row shorter than
 * {@code rowLength} is kept (padded in its batch); a row with no trained token is dropped.
 */
final class PackedRows {
    private PackedRows() {
    }

    static List<TokenizedExample> pack(List<TokenizedExample> examples, int rowLength) {
        List<TokenizedExample> rows = new ArrayList<>();
        long[] ids = new long[rowLength];
        boolean[] trained = new boolean[rowLength];
        int fill = 0;
        for (TokenizedExample e : examples) {
            for (int k = 0; k < e.length(); k++) {
                ids[fill] = e.ids()[k];
                trained[fill] = e.trained()[k];
                if (++fill == rowLength) {
                    add(rows, ids.clone(), trained.clone());
                    fill = 0;
                }
            }
        }
        if (fill >= 2) {
            add(rows, java.util.Arrays.copyOf(ids, fill), java.util.Arrays.copyOf(trained, fill));
        }
        return rows;
    }

    private static void add(List<TokenizedExample> rows, long[] ids, boolean[] trained) {
        TokenizedExample row = new TokenizedExample(ids, trained);
        if (row.learnsSomething()) {
            rows.add(row);
        }
    }
}

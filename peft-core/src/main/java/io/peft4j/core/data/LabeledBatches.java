package io.peft4j.core.data;

import java.util.List;

/** Classification data that knows its class names (by id), so metrics and predictions can name classes. */
public interface LabeledBatches extends Batches {
    List<String> labelNames();
}

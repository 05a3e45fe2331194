/**
 * Sparse and selective fine-tuning on peft-core: SpIEL, LT-SFT, half fine-tuning (HFT) and other
 * methods that train a chosen subset of a model's elements, written as selections, trainer callbacks
 * and weight deltas (see the architecture notes).
 */
package io.peft4j.sparse;

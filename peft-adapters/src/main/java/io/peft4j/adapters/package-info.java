/**
 * Adapter methods on peft-core: prompt tuning, prefix tuning, bottleneck adapters and IA3, written as
 * adapter layers or through the forward context (see the architecture notes).
 */
package io.peft4j.adapters;

package io.peft4j.core.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.peft4j.core.Compute;
import io.peft4j.core.model.DynamicKeyValueCache;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;

import java.util.List;

/** The family's registry entries and HF PEFT's default targets, and the cache's own checks. */
class LlamaFamilyTest {
    @Test
    void registryFindsTheFamilyForEachModelTypeAndArchitecture() {
        for (String type : List.of("llama", "mistral", "qwen2")) {
            assertInstanceOf(LlamaFamily.class, ModelFamilies.forModelType(type), type);
        }
        for (String arch : List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")) {
            assertInstanceOf(LlamaFamily.class, ModelFamilies.forArchitecture(arch), arch);
        }
    }

    /** HF PEFT constants.py: LoRA {@code llama}/{@code mistral}/{@code qwen2} [q_proj, v_proj]; IA3 {@code llama} [k_proj, v_proj, down_proj], feed-forward [down_proj]. */
    @Test
    void defaultTargetsAreHfPeftsConstants() {
        LlamaFamily f = new LlamaFamily();
        assertEquals(List.of("q_proj", "v_proj"), f.defaultTargetModules("LORA"));
        assertEquals(List.of("q_proj", "v_proj"), f.defaultTargetModules("vera"));
        assertEquals(List.of("k_proj", "v_proj", "down_proj"), f.defaultTargetModules("IA3"));
        assertEquals(List.of("down_proj"), f.defaultFeedforwardModules("IA3"));
        assertEquals(List.of(), f.defaultFeedforwardModules("LORA"));
        assertEquals("layers", f.layersPattern());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.defaultTargetModules("LN_TUNING"));
        assertTrue(e.getMessage().contains("'LN_TUNING'") && e.getMessage().contains("target_modules"), e.getMessage());
    }

    @Test
    void theCacheRefusesKeysThatDoNotExtendItsLayer() {
        try (NDManager m = Compute.newManager(); DynamicKeyValueCache cache = new DynamicKeyValueCache()) {
            cache.append(0, m.zeros(new Shape(1, 2, 3, 4)), m.zeros(new Shape(1, 2, 3, 4)));
            assertEquals(3, cache.length());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cache.append(0, m.zeros(new Shape(1, 4, 1, 4)), m.zeros(new Shape(1, 4, 1, 4))));
            assertTrue(e.getMessage().contains("layer 0"), e.getMessage());
            assertEquals(3, cache.length());
            cache.append(0, m.ones(new Shape(1, 2, 2, 4), DataType.FLOAT32), m.ones(new Shape(1, 2, 2, 4), DataType.FLOAT32));
            assertEquals(5, cache.length());
            cache.clear();
            assertEquals(0, cache.length());
        }
    }
}

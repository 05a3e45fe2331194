package io.peft4j.core.model.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.Tensor;
import io.peft4j.core.model.ModelFamilies;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Misconfigured GPT-2 directories fail before any model is built, naming the file and the tensor or field. */
class Gpt2DirectoryErrorsTest {
    private static final Gpt2Config CONFIG = Gpt2Config.builder().vocabSize(16).nPositions(8).nEmbd(8).nLayer(1).nHead(2).build();
    private static final String C_ATTN = "transformer.h.0.attn.c_attn.weight";

    @TempDir
    Path dir;

    private Map<String, Tensor> written() throws IOException {
        RandomGpt2Directory.write(dir, CONFIG, 5, false, false, 0);
        return new LinkedHashMap<>(SafeTensors.read(dir.resolve(ShardedSafeTensors.SINGLE_FILE)).tensors());
    }

    /** A Linear-layout [out, in] c_attn ([24, 8]) where Conv1D's [in, out] = [8, 24] is expected. */
    @Test
    void aTransposedConv1DWeightIsNamedWithBothShapes() throws IOException {
        Map<String, Tensor> w = written();
        w.put(C_ATTN, Tensor.ofFloats(new float[24 * 8], 24, 8));
        SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), w);
        IOException e = assertThrows(IOException.class, () -> Gpt2.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("model.safetensors: tensor '" + C_ATTN + "' has shape [24, 8] but config.json implies "
                + "[8, 24] (Conv1D weights are [in, out])"), e.getMessage());
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        Map<String, Tensor> w = written();
        w.remove("transformer.h.0.mlp.c_fc.bias");
        SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), w);
        IOException e = assertThrows(IOException.class, () -> ModelFamilies.loadBaseModel(dir, "broken"));
        assertTrue(e.getMessage().contains("missing tensors [transformer.h.0.mlp.c_fc.bias]"), e.getMessage());
    }

    @Test
    void aTensorOfAnotherArchitectureIsNamedWithItsFile() throws IOException {
        Map<String, Tensor> w = written();
        w.put("transformer.h.0.crossattention.c_attn.weight", Tensor.ofFloats(new float[8 * 24], 8, 24));
        SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), w);
        IOException e = assertThrows(IOException.class, () -> Gpt2.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("transformer.h.0.crossattention.c_attn.weight (in model.safetensors)"), e.getMessage());
    }

    @Test
    void theSameTensorWithAndWithoutPrefixIsRefused() throws IOException {
        Map<String, Tensor> w = written();
        w.put("h.0.ln_1.weight", w.get("transformer.h.0.ln_1.weight"));
        SafeTensors.write(dir.resolve(ShardedSafeTensors.SINGLE_FILE), w);
        IOException e = assertThrows(IOException.class, () -> Gpt2.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("'h.0.ln_1.weight' is saved twice"), e.getMessage());
    }

    @Test
    void anActivationOtherThanTheTanhGeluIsNamedWithTheFile() throws IOException {
        written();
        Files.writeString(dir.resolve("config.json"), CONFIG.toJson().replace("\"gelu_new\"", "\"relu\""));
        IOException e = assertThrows(IOException.class, () -> Gpt2.causalLm(dir, "broken"));
        assertTrue(e.getMessage().contains("config.json: activation_function 'relu' is not supported"), e.getMessage());
    }

    @Test
    void aFieldOfTheWrongTypeIsNamed() throws IOException {
        written();
        Files.writeString(dir.resolve("config.json"), CONFIG.toJson().replace("\"n_head\" : 2", "\"n_head\" : \"two\""));
        IOException e = assertThrows(IOException.class, () -> Gpt2Config.fromJson(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains("n_head"), e.getMessage());
    }

    @Test
    void theFamilyIsFoundByModelTypeWithHfPeftDefaults() {
        Gpt2Family family = (Gpt2Family) ModelFamilies.forModelType("gpt2");
        assertEquals(List.of("c_attn"), family.defaultTargetModules("LORA"));
        assertEquals(List.of("c_attn", "mlp.c_proj"), family.defaultTargetModules("IA3"));
        assertEquals(List.of("mlp.c_proj"), family.defaultFeedforwardModules("IA3"));
        assertEquals("h", family.layersPattern());
    }
}

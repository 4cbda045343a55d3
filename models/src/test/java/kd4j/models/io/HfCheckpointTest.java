/*
 * HF directories in and out: save → reload gives identical logits for every family, sharded checkpoints load,
 * and every kind of bad input gets a message naming the file and the tensor or key.
 */
package kd4j.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.autograd.GradMode;
import kd4j.autograd.Parameter;
import kd4j.models.CausalLM;
import kd4j.models.ModelConfig;
import kd4j.models.Models;
import kd4j.models.llama.LlamaConfig;
import kd4j.models.mamba.MambaConfig;
import kd4j.models.qwen2.Qwen2Config;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HfCheckpointTest {
    final Backend be = new ReferenceBackend();
    @TempDir Path tmp;

    static ModelConfig config(String family) {
        return kd4j.models.TinyConfigsAccess.parse(family);
    }

    private float[] logits(CausalLM model, int[] ids, int batch) {
        try (var g = GradMode.off()) {
            return model.forward(be.fromInts(ids, batch, ids.length / batch), null).data().toFloatArray();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "mamba"})
    void saveThenLoad_givesIdenticalLogitsAndConfig(String family) {
        ModelConfig cfg = config(family);
        CausalLM model = Models.randomInit(cfg, be, 7);
        Path dir = tmp.resolve(family);
        Models.save(model, dir);
        CausalLM back = Models.load(dir, be);
        assertEquals(cfg, back.config());
        int[] ids = {1, 5, 9, 60, 0, 33, 2, 2, 17, 42};
        assertArrayEquals(logits(model, ids, 2), logits(back, ids, 2));
        List<String> names = model.parameters().all().stream().map(Parameter::name).toList();
        assertEquals(names, back.parameters().all().stream().map(Parameter::name).toList());
        if (cfg.tieWordEmbeddings()) assertFalse(names.contains("lm_head.weight"));
        else assertTrue(names.contains("lm_head.weight"));
    }

    @Test
    void randomInit_isSeededAndFollowsTheInitRules() {
        CausalLM a = Models.randomInit(config("mamba"), be, 3), b = Models.randomInit(config("mamba"), be, 3);
        CausalLM c = Models.randomInit(config("mamba"), be, 4);
        float[] wa = a.parameters().get("backbone.layers.0.mixer.in_proj.weight").data().toFloatArray();
        assertArrayEquals(wa, b.parameters().get("backbone.layers.0.mixer.in_proj.weight").data().toFloatArray());
        assertFalse(java.util.Arrays.equals(wa, c.parameters().get("backbone.layers.0.mixer.in_proj.weight").data().toFloatArray()));
        float[] aLog = a.parameters().get("backbone.layers.1.mixer.A_log").data().toFloatArray();   // [I, N=4]
        assertArrayEquals(new float[] {0f, (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)},
                java.util.Arrays.copyOf(aLog, 4), 1e-7f);
        for (float d : a.parameters().get("backbone.layers.0.mixer.D").data().toFloatArray()) assertEquals(1f, d);
        for (float bias : a.parameters().get("backbone.layers.0.mixer.dt_proj.bias").data().toFloatArray()) {
            double dt = Math.log1p(Math.exp(bias));        // softplus(bias) is the initial dt
            assertTrue(dt >= 1e-3 * 0.999 && dt <= 0.1 * 1.001, "dt " + dt + " outside [1e-3, 1e-1]");
        }
        for (float n : a.parameters().get("backbone.norm_f.weight").data().toFloatArray()) assertEquals(1f, n);
    }

    @Test
    void shardedCheckpoint_loadsThroughTheIndex() throws IOException {
        CausalLM model = Models.randomInit(config("llama"), be, 11);
        Path dir = tmp.resolve("sharded");
        Models.save(model, dir);
        Files.delete(dir.resolve(HfCheckpoint.WEIGHTS));
        Map<String, Tensor> first = new LinkedHashMap<>(), second = new LinkedHashMap<>();
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        int i = 0;
        for (Parameter p : model.parameters().all()) {
            boolean one = i++ % 2 == 0;
            (one ? first : second).put(p.name(), p.data());
            map.put(p.name(), one ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        Files.writeString(dir.resolve(HfCheckpoint.INDEX), index.toString());
        int[] ids = {3, 4, 5, 6};
        assertArrayEquals(logits(model, ids, 1), logits(Models.load(dir, be), ids, 1));
    }

    @Test
    void unknownArchitecture_namesFileAndTheSupportedOnes() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("moe"));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"Qwen3MoeForCausalLM\"]}");
        var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("architecture 'Qwen3MoeForCausalLM' is not supported (supported: "
                + "Qwen2ForCausalLM, Qwen3ForCausalLM, LlamaForCausalLM, MambaForCausalLM)"), e.getMessage());
    }

    @Test
    void missingAndMisShapedTensors_areAllReportedAtOnce() throws IOException {
        CausalLM model = Models.randomInit(config("qwen2"), be, 1);
        Path dir = tmp.resolve("broken");
        Models.save(model, dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) tensors.put(p.name(), p.data());
        tensors.remove("model.layers.1.mlp.up_proj.weight");
        tensors.put("model.layers.0.self_attn.k_proj.weight", be.zeros(kd4j.tensor.DType.F32, 32, 8));
        SafeTensors.write(dir.resolve(HfCheckpoint.WEIGHTS), tensors, Map.of("format", "pt"));
        var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be));
        String m = e.getMessage();
        assertTrue(m.startsWith(dir.resolve(HfCheckpoint.WEIGHTS).toString()), m);
        assertTrue(m.contains("2 problems"), m);
        assertTrue(m.contains("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [32, 8], expected [8, 32]"), m);
        assertTrue(m.contains("tensor 'model.layers.1.mlp.up_proj.weight' is missing (expected [40, 32])"), m);
    }

    /** Issue #19: Qwen3 with attention_bias put a bias on o_proj that kd4j ignored, silently. */
    @Test
    void qwen3AttentionBias_isHonouredOnAllFourProjections() {
        Qwen2Config c = (Qwen2Config) Models.parseConfig(kd4j.models.TinyConfigsAccess.json("qwen3")
                .replaceFirst("\\{", "{\"attention_bias\": true, "), Path.of("config.json"));
        assertTrue(c.qkvBias() && c.outputBias(), c.toString());
        List<String> names = Models.randomInit(c, be, 1).parameters().all().stream().map(Parameter::name).toList();
        assertTrue(names.contains("model.layers.0.self_attn.o_proj.bias"), names.toString());
        Qwen2Config qwen2 = (Qwen2Config) config("qwen2");
        assertTrue(qwen2.qkvBias() && !qwen2.outputBias(), "Qwen2: bias on q/k/v only");
    }

    @Test
    void checkpointTensorsTheConfigDoesNotUse_areRefusedByName() throws IOException {
        ModelConfig withBias = Models.parseConfig(kd4j.models.TinyConfigsAccess.json("qwen3")
                .replaceFirst("\\{", "{\"attention_bias\": true, "), Path.of("config.json"));
        Path dir = tmp.resolve("bias");
        Models.save(Models.randomInit(withBias, be, 2), dir);
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"attention_bias\" : true", "\"attention_bias\" : false"));
        var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be));
        String m = e.getMessage();
        assertTrue(m.startsWith(dir.resolve(HfCheckpoint.WEIGHTS).toString()), m);
        assertTrue(m.contains("tensor 'model.layers.0.self_attn.o_proj.bias' is in the checkpoint but"
                + " Qwen3ForCausalLM with this config.json does not use it"), m);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"layer_types\": [\"full_attention\", \"sliding_attention\"]|\"layer_types\"[1]: 'sliding_attention' is not supported",
            "\"attention_dropout\": 0.1|\"attention_dropout\": attention dropout is not supported",
            "\"partial_rotary_factor\": 0.5|\"partial_rotary_factor\": partial rotary embeddings are not supported",
            "\"final_logit_softcapping\": 30.0|\"final_logit_softcapping\": is not supported by Qwen3ForCausalLM"})
    void configKeysThatChangeTheMath_areRefusedByName(String keyAndMessage) throws IOException {
        String[] km = keyAndMessage.split("\\|");
        Path dir = Files.createDirectories(tmp.resolve("audit"));
        Files.writeString(dir.resolve("config.json"), kd4j.models.TinyConfigsAccess.json("qwen3")
                .replaceFirst("\\{", "{" + km[0] + ", "));
        var e = assertThrows(CheckpointFormatException.class, () -> Models.readConfig(dir));
        assertTrue(e.getMessage().contains(km[1]), e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
    }

    @Test
    void nonFiniteWeights_areRefusedNamingTensorAndElement_inEveryFloatDtype() throws IOException {
        CausalLM model = Models.randomInit(config("qwen2"), be, 1);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) tensors.put(p.name(), p.data());
        float[] up = tensors.get("model.layers.1.mlp.up_proj.weight").toFloatArray();
        up[33] = Float.NaN;                                        // row 0, column 33 of [40, 32]: element [1, 1]
        tensors.put("model.layers.1.mlp.up_proj.weight", be.fromFloats(up, 40, 32));
        for (kd4j.tensor.DType dtype : new kd4j.tensor.DType[] {kd4j.tensor.DType.F32, kd4j.tensor.DType.BF16,
                kd4j.tensor.DType.F16}) {
            Map<String, Tensor> stored = new LinkedHashMap<>();
            for (var t : tensors.entrySet()) {
                Tensor c = be.empty(dtype, t.getValue().shape());
                be.copy(t.getValue(), c);
                stored.put(t.getKey(), c);
            }
            float[] norm = new float[32];
            java.util.Arrays.fill(norm, 1f);
            norm[5] = Float.POSITIVE_INFINITY;
            Tensor n = be.empty(dtype, 32);
            be.copy(be.fromFloats(norm, 32), n);
            stored.put("model.norm.weight", n);
            Path dir = tmp.resolve("nan-" + dtype);
            Models.save(model, dir);
            SafeTensors.write(dir.resolve(HfCheckpoint.WEIGHTS), stored, Map.of("format", "pt"));
            for (boolean inference : new boolean[] {false, true}) {
                var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be, inference));
                String m = e.getMessage();
                assertTrue(m.contains("2 problems"), dtype + ": " + m);
                assertTrue(m.contains("tensor 'model.layers.1.mlp.up_proj.weight' holds a non-finite value (NaN or Inf) "
                        + "at element 33 [1, 1]"), dtype + ": " + m);
                assertTrue(m.contains("tensor 'model.norm.weight' holds a non-finite value (NaN or Inf) at element 5 [5]"),
                        dtype + ": " + m);
            }
        }
    }

    @Test
    void truncatedWeights_nameTheFile() throws IOException {
        Path dir = tmp.resolve("trunc");
        Models.save(Models.randomInit(config("llama"), be, 1), dir);
        Path w = dir.resolve(HfCheckpoint.WEIGHTS);
        byte[] bytes = Files.readAllBytes(w);
        Files.write(w, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be));
        assertTrue(e.getMessage().startsWith(w.toString()) && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void pickleCheckpoints_areRefused() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("pickle"));
        Files.writeString(dir.resolve("config.json"), TinyJson.LLAMA);
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2, 'c'});
        var e = assertThrows(CheckpointFormatException.class, () -> Models.load(dir, be));
        assertTrue(e.getMessage().contains("pytorch_model.bin: pickle checkpoints are refused"), e.getMessage());
        var direct = assertThrows(CheckpointFormatException.class, () -> Models.load(dir.resolve("pytorch_model.bin"), be));
        assertTrue(direct.getMessage().contains("pickle checkpoints are refused"), direct.getMessage());
    }

    @Test
    void badConfigValues_nameTheKey() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("badcfg"));
        Files.writeString(dir.resolve("config.json"), TinyJson.LLAMA.replace("\"num_key_value_heads\": 2",
                "\"num_key_value_heads\": 3"));
        var e = assertThrows(CheckpointFormatException.class, () -> Models.readConfig(dir));
        assertTrue(e.getMessage().contains("\"num_key_value_heads\": must divide num_attention_heads=4, found 3"),
                e.getMessage());
        Files.writeString(dir.resolve("config.json"), TinyJson.LLAMA.replace("\"rope_type\": \"llama3\"",
                "\"rope_type\": \"yarn\""));
        var r = assertThrows(CheckpointFormatException.class, () -> Models.readConfig(dir));
        assertTrue(r.getMessage().contains("rope type: 'yarn' is not supported"), r.getMessage());
    }

    @Test
    void legacyAndTransformers5Layouts_parseToTheSameConfig() {
        Path root = kd4j.models.TinyConfigsAccess.fixtureRoot();
        org.junit.jupiter.api.Assumptions.assumeTrue(root != null, "fixtures not found; set KD4J_FIXTURES");
        for (String m : List.of("llama", "qwen2")) {
            Path d = root.resolve("models").resolve(m);
            assertEquals(HfCheckpoint.readConfig(d.resolve("config.json")),
                    HfCheckpoint.readConfig(d.resolve("config.legacy.json")), m);
        }
        ModelConfig llama = HfCheckpoint.readConfig(root.resolve("models/llama"));
        assertTrue(llama instanceof LlamaConfig l && l.rope().type().equals("llama3") && l.rope().factor() == 4.0);
        assertTrue(HfCheckpoint.readConfig(root.resolve("models/qwen2")) instanceof Qwen2Config q && q.qkvBias());
        assertTrue(HfCheckpoint.readConfig(root.resolve("models/mamba")) instanceof MambaConfig mc
                && mc.timeStepRank() == 4 && mc.intermediateSize() == 128);
    }

    /** The tiny config JSON, visible to this package. */
    static final class TinyJson {
        static final String LLAMA = kd4j.models.TinyConfigsAccess.json("llama");
    }
}

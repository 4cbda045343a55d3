/*
 * A model that computes NaN stops score, cache-logits and online KD at the first non-finite value, naming the
 * instance and the position (issue #18); a NaN never becomes a score, a loss or a cache entry. The NaN is planted
 * in one token's embedding row of an untied model, so only instances holding that token go bad. (Eval: the train
 * module's NonFiniteEvalTest.)
 */
package kd4j.distill;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.autograd.Parameter;
import kd4j.data.Shard;
import kd4j.data.TokenSequences;
import kd4j.distill.kd.AlphaSchedule;
import kd4j.distill.kd.KdLoss;
import kd4j.distill.kd.KdObjective;
import kd4j.distill.kd.LogitsCacheRun;
import kd4j.distill.kd.TopPkLogits;
import kd4j.distill.score.TeacherScorer;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import kd4j.train.MicroBatch;
import kd4j.train.NonFiniteResultException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NonFiniteResultsTest {
    private static final int BAD_TOKEN = 7;
    private static final String TINY_QWEN2 = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
             "vocab_size": 64, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": false, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;
    @TempDir Path dir;
    private final Backend be = new CpuBackend(1);

    @AfterEach
    void close() { be.close(); }

    /** The tiny Qwen2, untied, with token BAD_TOKEN's embedding row NaN. */
    private CausalLM poisoned() {
        CausalLM m = Models.randomInit(Models.parseConfig(TINY_QWEN2, Path.of("untied.json")), be, 3);
        for (Parameter p : m.parameters().all())
            if (p.name().equals("model.embed_tokens.weight")) {
                float[] w = p.data().toFloatArray();
                int hidden = p.data().dim(1);
                for (int c = 0; c < hidden; c++) w[BAD_TOKEN * hidden + c] = Float.NaN;
                be.copy(be.fromFloats(w, p.data().shape()), p.data());
            }
        return m;
    }

    /** Six instances of 9 tokens avoiding BAD_TOKEN, except instance 3, which holds it at position 5. */
    private static List<int[]> instances() {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] s = new int[9];
            for (int t = 0; t < s.length; t++) s[t] = 10 + (i * 5 + t * 3) % 50;
            if (i == 3) s[5] = BAD_TOKEN;
            out.add(s);
        }
        return out;
    }

    @Test
    void score_stopsAtTheFirstNonFiniteLogProbability_namingInstanceAndPosition() {
        TokenSequences src = TokenSequences.of(instances(), -1, -1, "c", "t");
        TeacherScorer scorer = new TeacherScorer(poisoned(), 2, -1, -1);
        double[] sum = new double[6], mean = new double[6];
        int[] count = new int[6];
        var e = assertThrows(NonFiniteResultException.class, () -> scorer.score(src, 0, 6, sum, mean, count, 0));
        assertTrue(e.getMessage().startsWith("instance 3, position 5: the model's log-probability is NaN"), e.getMessage());
        // instances before it were scored, finitely; nothing after it
        for (int i = 0; i < 2; i++) assertTrue(Double.isFinite(mean[i]) && count[i] == 8, "instance " + i);
    }

    @Test
    void cacheLogits_stopsNamingTheInstance_andWritesNoChunkOfIt() throws Exception {
        Path out = dir.resolve("logits");
        LogitsCacheRun run = new LogitsCacheRun(TokenSequences.of(instances(), -1, -1, "c", "t"), poisoned(), "poisoned",
                new TopPkLogits.Truncation.TopK(4), 16, 5, new Shard(0, 1), out, 2, 1);
        var e = assertThrows(NonFiniteResultException.class, () -> run.run(null));
        assertTrue(e.getMessage().startsWith("instance 3, position 5: the teacher's logit of token "), e.getMessage());
        try (var files = Files.list(out)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertTrue(names.contains("chunk-000000000000.bin"), names.toString());  // instances 0-1: good and kept
            assertFalse(names.contains("chunk-000000000002.bin"), names.toString());
        }
    }

    @Test
    void onlineKd_namesTheTeacher_notTheStudent() {
        KdLoss kd = KdLoss.online(poisoned(), new KdLoss.Settings(KdObjective.Divergence.FORWARD_KL, 1f, false,
                KdObjective.DEFAULT_SKEW, KdObjective.TailMode.RENORMALIZE, new AlphaSchedule.Constant(0.5)));
        CausalLM student = Models.randomInit(Models.parseConfig(TINY_QWEN2, Path.of("student.json")), be, 1);
        List<int[]> inst = instances();
        int[] inputs = new int[8], targets = new int[8];
        System.arraycopy(inst.get(3), 0, inputs, 0, 8);
        System.arraycopy(inst.get(3), 1, targets, 0, 8);
        MicroBatch batch = new MicroBatch(1, 8, inputs, targets, new long[] {3});
        var e = assertThrows(NonFiniteResultException.class, () -> kd.loss(student, batch, 4));
        assertTrue(e.getMessage().startsWith("step 4: the teacher's logits (online KD, --teacher) hold NaN or Inf"),
                e.getMessage());
    }
}

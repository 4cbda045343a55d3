package kd4j.distill.score;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import kd4j.data.TokenSequences;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** TeacherScorer on a real (tiny, random) Qwen2 on the CPU backend vs log-softmax of unbatched logits in double. */
class RealModelScoringTest {
    static final String CONFIG = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 97, "hidden_size": 32,
             "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
             "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}""";

    @Test
    void batchedPaddedScores_equalDirectLogSoftmaxOfEachInstanceAlone() {
        CausalLM lm = Models.randomInit(Models.parseConfig(CONFIG, Path.of("test-config.json")), Backends.cpu(), 42);
        Random r = new Random(9);
        List<int[]> inst = new ArrayList<>();
        for (int len : new int[] {12, 12, 7, 12, 3, 9}) {
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) ids[t] = 1 + r.nextInt(96);
            inst.add(ids);
        }
        inst.get(1)[5] = 0;                       // an EOS inside: its position is not scored
        int n = inst.size();
        double[] sum = new double[n], mean = new double[n];
        int[] count = new int[n];
        new TeacherScorer(lm, 4, 0, 0).score(TokenSequences.of(inst, 0, 0, "c", "t"), 0, n, sum, mean, count, 0);

        for (int i = 0; i < n; i++) {
            int[] ids = inst.get(i);
            int tLen = ids.length - 1;
            Tensor logits = lm.forward(lm.backend().fromInts(java.util.Arrays.copyOf(ids, tLen), 1, tLen), null).data();
            float[] x = logits.toFloatArray();
            int vocab = logits.dim(2);
            double s = 0;
            int c = 0;
            for (int t = 0; t < tLen; t++) {
                if (ids[t] == 0) continue;
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int v = 0; v < vocab; v++) max = Math.max(max, x[t * vocab + v]);
                for (int v = 0; v < vocab; v++) z += Math.exp(x[t * vocab + v] - max);
                s += x[t * vocab + ids[t + 1]] - max - Math.log(z);
                c++;
            }
            assertEquals(c, count[i], "count of instance " + i);
            assertEquals(s, sum[i], 1e-4 * Math.max(1, c), "sum of instance " + i);
            assertEquals(s / c, mean[i], 1e-4, "mean of instance " + i);
        }
        assertEquals(10, count[1], "11 positions, one with EOS as input");
    }
}

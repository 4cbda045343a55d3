/*
 * Logit distillation as the trainer's loss: loss = (1 - alpha) LM + alpha D, both means over the batch's counted
 * targets. Online: the teacher runs on the same batch under GradMode.off() (no tape, no saved tensors), and D is
 * a dense divergence of KdObjective. Offline: D is computed against a LogitsCache looked up by the batch's
 * instance ids. Memory: one [B, T, V] logits tensor per model plus the student's gradient; the divergence
 * kernels never materialise a softmax. Reports lmLoss, kdLoss, alpha and the teacher FLOPs spent (online) or
 * reused (offline), at 2 N_teacher per token forward.
 */
package kd4j.distill.kd;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import kd4j.autograd.GradMode;
import kd4j.autograd.Parameter;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.LossOps;
import kd4j.models.CausalLM;
import kd4j.models.ModelConfig;
import kd4j.models.NextTokenBatch;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.train.LossFunction;
import kd4j.train.MicroBatch;

public final class KdLoss implements LossFunction {
    /**
     * What D is and how it is weighted. tail applies to offline caches only; skew to the skew divergences only.
     */
    public record Settings(KdObjective.Divergence divergence, float tau, boolean tau2Scaling, double skew,
                           KdObjective.TailMode tail, AlphaSchedule alpha) {
        public Settings {
            if (divergence == null || tail == null || alpha == null)
                throw new IllegalArgumentException("KD settings need a divergence, a tail mode and an alpha schedule");
            if (!(tau > 0 && tau < Float.POSITIVE_INFINITY))
                throw new IllegalArgumentException("--tau must be a finite number > 0, got " + tau);
            if (!(skew >= 0 && skew < 1)) throw new IllegalArgumentException("--skew must be in [0, 1), got " + skew);
        }

        public String describe() {
            return divergence.name().toLowerCase().replace('_', '-') + ", tau " + tau + (tau2Scaling ? " (x tau^2)" : "")
                    + ", alpha " + alpha.describe() + (divergence.name().startsWith("SKEW") ? ", skew " + skew : "");
        }
    }

    private final Settings settings;
    private final CausalLM teacher;          // online, or null
    private final LogitsCache cache;         // offline, or null
    private final double teacherFlopsPerToken;
    private double teacherFlops;
    private final Map<String, Double> last = new LinkedHashMap<>();

    private KdLoss(Settings settings, CausalLM teacher, LogitsCache cache, double teacherFlopsPerToken) {
        this.settings = settings;
        this.teacher = teacher;
        this.cache = cache;
        this.teacherFlopsPerToken = teacherFlopsPerToken;
    }

    /** Online KD against teacher, which must share the student's vocabulary (checked on the first batch too). */
    public static KdLoss online(CausalLM teacher, Settings settings) {
        return new KdLoss(settings, teacher, null, 2.0 * parameterCount(teacher));
    }

    /** Offline KD against a cache made by `kd4j cache-logits`; its FLOPs are reused, not spent. */
    public static KdLoss offline(LogitsCache cache, Settings settings) {
        return new KdLoss(settings, null, cache, 2.0 * cache.manifest().teacherParameters());
    }

    public Settings settings() { return settings; }

    /** Teacher FLOPs so far: spent running it (online) or reused from the cache (offline). */
    public double teacherFlops() { return teacherFlops; }

    public boolean isOnline() { return teacher != null; }

    /**
     * Refuses a teacher and student with different vocabularies: logit KD compares distributions id by id.
     */
    public static void requireSameVocabulary(ModelConfig teacher, ModelConfig student, String teacherName) {
        if (teacher.vocabSize() != student.vocabSize())
            throw new IllegalArgumentException("teacher " + teacherName + " has a vocabulary of " + teacher.vocabSize()
                    + " ids, the student " + student.vocabSize() + ": logit distillation needs one shared vocabulary."
                    + "\n---> for a teacher with another tokenizer use Difference Sampling instead "
                    + "(kd4j score + kd4j select), which distils through the data, not the logits");
    }

    @Override
    public Var loss(CausalLM student, MicroBatch batch, long step) {
        Backend be = student.backend();
        int b = batch.batchSize(), t = batch.seqLength(), n = b * t;
        Tensor ids = be.fromInts(batch.inputs(), b, t);
        Var logits = student.forward(ids, null);
        int vocab = logits.dim(-1);
        Var lm = LossOps.crossEntropyPerToken(logits, be.fromInts(batch.targets(), n), NextTokenBatch.IGNORE);
        Var kd;
        if (teacher != null) {
            requireSameVocabulary(teacher.config(), student.config(), "(--teacher)");
            Tensor teacherLogits;
            try (var off = GradMode.off()) {
                teacherLogits = teacher.forward(ids, null).data();
            }
            if (teacherLogits.dim(-1) != vocab)
                requireSameVocabulary(teacher.config(), student.config(), "(--teacher)");
            // The teacher is a constant: if its logits are not finite, the student's loss would go NaN and look
            // like the student diverging. Name the teacher instead.
            if (teacherLogits.dtype() == kd4j.tensor.DType.F32 && !be.allFinite(teacherLogits))
                throw new kd4j.train.NonFiniteResultException("step " + step + ": the teacher's logits (online KD, "
                        + "--teacher) hold NaN or Inf; the teacher is broken, not the student: check it with kd4j eval "
                        + "--model TEACHER");
            kd = KdObjective.dense(settings.divergence(), settings.tau(), settings.tau2Scaling(), settings.skew(),
                    logits, teacherLogits);
            teacherFlops += teacherFlopsPerToken * n;
        } else {
            if (cache.manifest().vocabSize() != vocab)
                throw new IllegalArgumentException(cache.dir() + ": the logits cache is over a vocabulary of "
                        + cache.manifest().vocabSize() + " ids, the student's is " + vocab + "; logit distillation "
                        + "needs one shared vocabulary (for another tokenizer use Difference Sampling)");
            SparseTargets targets = cache.targets(batch.instances(), t);
            kd = KdObjective.sparse(settings.tail(), settings.tau(), settings.tau2Scaling(), logits, targets);
            teacherFlops += teacherFlopsPerToken * batch.countedTokens();
        }
        double alpha = settings.alpha().alpha(Math.max(0, step - 1));
        float[] weights = new float[n];
        int counted = batch.countedTokens();
        for (int i = 0; i < n; i++) weights[i] = batch.targets()[i] == NextTokenBatch.IGNORE || counted == 0 ? 0f : 1f / counted;
        Tensor w = be.fromFloats(weights, n);
        Var loss = LossOps.weightedSum(mix(lm, kd, alpha), w);
        last.clear();
        last.put("lmLoss", weightedMean(lm.data().toFloatArray(), weights));
        last.put("kdLoss", weightedMean(kd.data().toFloatArray(), weights));
        last.put("alpha", alpha);
        last.put(teacher != null ? "teacherFlopsSpent" : "teacherFlopsReused", teacherFlops);
        return loss;
    }

    /** Per token (1 - alpha) lm + alpha kd. */
    public static Var mix(Var lm, Var kd, double alpha) {
        if (alpha == 0) return lm;
        if (alpha == 1) return kd;
        return ElementwiseOps.add(ElementwiseOps.scale(lm, (float) (1 - alpha)), ElementwiseOps.scale(kd, (float) alpha));
    }

    private static double weightedMean(float[] values, float[] weights) {
        double s = 0;
        for (int i = 0; i < values.length; i++) if (weights[i] != 0) s += (double) values[i] * weights[i];
        return s;
    }

    @Override
    public Map<String, Double> lastMetrics() { return Map.copyOf(last); }

    /** The cumulative teacher FLOPs, so a resumed run keeps counting from where it stopped. */
    @Override
    public JsonNode state() {
        return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("teacherFlops", teacherFlops);
    }

    @Override
    public void restore(JsonNode state) {
        if (state != null && state.has("teacherFlops")) teacherFlops = state.get("teacherFlops").asDouble();
    }

    /** Number of parameters (every weight, embeddings included: MiniPLM's N). */
    public static long parameterCount(CausalLM model) {
        long n = 0;
        for (Parameter p : model.parameters().all()) n += p.data().numel();
        return n;
    }
}

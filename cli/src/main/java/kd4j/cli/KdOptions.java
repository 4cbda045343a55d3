/*
 * The logit-distillation options of `kd4j pretrain` (a mixin): --kd online|offline with --teacher DIR or
 * --logits DIR, --kd-preset vanilla|peng-best, --alpha, --tau, --tau2, --divergence, --skew, --kd-tail. plan()
 * turns them into the trainer's loss function, checks teacher / cache against the student and the data, applies
 * the preset's compute-matched step budget (vanilla) and reports what the run will do. The settings are kept in
 * the run folder (kd-config.json) so --resume refuses to continue with other KD settings.
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import kd4j.data.AtomicFiles;
import kd4j.data.DatasetInstances;
import kd4j.distill.kd.AlphaSchedule;
import kd4j.distill.kd.KdLoss;
import kd4j.distill.kd.KdObjective;
import kd4j.distill.kd.KdPreset;
import kd4j.distill.kd.LogitsCache;
import kd4j.distill.score.ModelId;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.train.LossFunction;
import kd4j.train.TrainConfig;
import picocli.CommandLine.Option;

public final class KdOptions {
    static final String SAVED = "kd-config.json";

    @Option(names = "--kd", paramLabel = "MODE", description = "logit distillation: none (default), online (--teacher) or offline (--logits)")
    String mode;

    @Option(names = "--teacher", paramLabel = "DIR", description = "teacher model folder (online KD; with --kd offline, checked against the cache)")
    Path teacher;

    @Option(names = "--logits", paramLabel = "DIR", description = "logits cache from kd4j cache-logits (offline KD)")
    Path logits;

    @Option(names = "--kd-preset", paramLabel = "NAME", description = "vanilla (MiniPLM Vanilla KD, compute-matched steps) or peng-best (top-p-k cache, WSD alpha and LR)")
    String preset;

    @Option(names = "--alpha", paramLabel = "A", description = "KD weight: a number, linear:FROM:TO or wsd:PEAK[:END] (default 0.5)")
    String alpha;

    @Option(names = "--tau", paramLabel = "T", description = "temperature on teacher and student (default 1)")
    Float tau;

    @Option(names = "--tau2", description = "multiply the divergence by tau^2 (Hinton's gradient-scale correction)")
    boolean tau2;

    @Option(names = "--divergence", paramLabel = "D", description = "forward-kl (default), reverse-kl, skew-kl, skew-reverse-kl, soft-ce, mse")
    String divergence;

    @Option(names = "--skew", paramLabel = "L", description = "skew of skew-kl / skew-reverse-kl (default 0.1, DistiLLM)")
    Double skew;

    @Option(names = "--kd-tail", paramLabel = "MODE", description = "offline: renormalize (default), renormalize-both, tail, uniform")
    String tail;

    /** What pretrain runs: the (possibly compute-matched) config and the loss; kd is null without KD. */
    record Plan(TrainConfig config, LossFunction loss, KdLoss kd) {
        String report() {
            if (kd == null) return "";
            return String.format(Locale.ROOT, "teacher FLOPs %s: %.4g", kd.isOnline() ? "spent" : "reused (cached)", kd.teacherFlops());
        }
    }

    boolean enabled() { return mode != null ? !mode.equalsIgnoreCase("none") : preset != null; }

    /** The teacher folder of online KD (for the memory plan), or null when the run has none. */
    Path onlineTeacher() {
        if (!enabled() || teacher == null) return null;
        if (mode != null) return mode.equalsIgnoreCase("online") ? teacher : null;
        return preset != null && !KdPreset.parse(preset).offline() ? teacher : null;
    }

    /** Adds the config overrides a preset implies (peng-best: a WSD learning rate) unless set explicitly. */
    void addOverrides(Map<String, String> overrides) {
        if (preset != null && KdPreset.parse(preset).wsdLearningRate()) overrides.putIfAbsent("schedule.kind", "wsd");
    }

    /**
     * Checks every KD value given (ranges, names) before anything is loaded, and refuses KD values given without
     * KD: a typo'd or forgotten --kd must not train a plain LM while the user believes it distils. Bad usage.
     */
    void check(long totalSteps) {
        if (!enabled()) {
            java.util.List<String> given = new java.util.ArrayList<>();
            if (teacher != null) given.add("--teacher");
            if (logits != null) given.add("--logits");
            if (alpha != null) given.add("--alpha");
            if (tau != null) given.add("--tau");
            if (tau2) given.add("--tau2");
            if (divergence != null) given.add("--divergence");
            if (skew != null) given.add("--skew");
            if (tail != null) given.add("--kd-tail");
            settings(totalSteps);          // a bad value is named first, with its allowed range
            if (!given.isEmpty())
                throw new IllegalArgumentException(String.join(", ", given) + " given without --kd online|offline "
                        + "(or --kd-preset vanilla|peng-best): the run would train without distillation");
            return;
        }
        offline();
        settings(totalSteps);
    }

    private boolean offline() {
        KdPreset p = preset == null ? null : KdPreset.parse(preset);
        return mode != null ? switch (mode.toLowerCase(Locale.ROOT)) {
            case "online" -> false;
            case "offline" -> true;
            default -> throw new IllegalArgumentException("--kd: '" + mode + "' is not one of none, online, offline");
        } : p.offline();
    }

    /** The KD settings: the preset's (or the defaults) with each given flag on top; throws on a bad value. */
    private KdLoss.Settings settings(long totalSteps) {
        KdPreset p = preset == null ? null : KdPreset.parse(preset);
        KdLoss.Settings preSettings = p != null ? p.settings(totalSteps)
                : new KdLoss.Settings(KdObjective.Divergence.FORWARD_KL, 1f, false, KdObjective.DEFAULT_SKEW,
                        KdObjective.TailMode.RENORMALIZE, new AlphaSchedule.Constant(0.5));
        return new KdLoss.Settings(
                divergence != null ? KdObjective.Divergence.parse(divergence) : preSettings.divergence(),
                tau != null ? tau : preSettings.tau(), tau2 || preSettings.tau2Scaling(),
                skew != null ? skew : preSettings.skew(),
                tail != null ? KdObjective.TailMode.parse(tail) : preSettings.tail(),
                alpha != null ? AlphaSchedule.parse(alpha, totalSteps) : preSettings.alpha());
    }

    Plan plan(CausalLM student, Backend be, TrainConfig cfg, Path trainData, boolean resume, PrintWriter out) throws IOException {
        if (!enabled()) {
            check(cfg.totalSteps());
            return new Plan(cfg, LossFunction.languageModel(), null);
        }
        KdPreset p = preset == null ? null : KdPreset.parse(preset);
        boolean offline = offline();
        long totalSteps = cfg.totalSteps();
        KdLoss.Settings settings = settings(totalSteps);
        KdLoss loss;
        TrainConfig run = cfg;
        if (!offline) {
            if (teacher == null)
                throw new IllegalArgumentException("--kd online needs --teacher DIR (a model folder sharing the student's vocabulary)");
            CausalLM t = Models.load(teacher, be, true);
            KdLoss.requireSameVocabulary(t.config(), student.config(), teacher.toString());
            loss = KdLoss.online(t, settings);
            long ns = KdLoss.parameterCount(student), nt = KdLoss.parameterCount(t);
            if (p != null && p.computeMatched()) {
                if (resume) out.println("kd: compute-matched budget kept from the run's saved config (" + totalSteps + " steps)");
                else {
                    out.println("kd: " + KdPreset.describeComputeMatch(totalSteps, ns, nt));
                    run = withMaxSteps(cfg, KdPreset.computeMatchedSteps(totalSteps, ns, nt));
                }
            }
        } else {
            if (logits == null)
                throw new IllegalArgumentException("--kd offline needs --logits DIR; make one with kd4j cache-logits --model TEACHER "
                        + "--data " + trainData + (p != null && p.truncation() != null ? " --top-p 0.95 --top-k 50" : "") + " --out DIR");
            LogitsCache cache = LogitsCache.open(logits);
            try (DatasetInstances data = DatasetInstances.open(trainData, null)) {
                cache.requireMatches(data.corpusChecksum(), data.size(), data.tokenizerFingerprint(),
                        teacher == null ? null : ModelId.of(teacher));
            }
            if (cache.manifest().vocabSize() != student.config().vocabSize())
                throw new IllegalArgumentException(logits + ": the cache's teacher has a vocabulary of " + cache.manifest().vocabSize()
                        + " ids, the student " + student.config().vocabSize() + ": logit distillation needs one shared "
                        + "vocabulary\n---> for a teacher with another tokenizer use Difference Sampling (kd4j score + kd4j select)");
            loss = KdLoss.offline(cache, settings);
            out.printf(Locale.ROOT, "kd: cache %s: %s, %.1f bytes/token, teacher %s%n", logits,
                    cache.manifest().describeStorage(), cache.manifest().bytesPerToken(), cache.manifest().teacherId());
        }
        checkSaved(Path.of(cfg.run().out()), settings, offline, resume);
        out.println("kd: " + (offline ? "offline" : "online") + (p != null ? " (" + p.name() + ")" : "") + ", "
                + settings.describe() + "; loss = (1 - alpha) LM + alpha D");
        return new Plan(run, loss, loss);
    }

    private void checkSaved(Path runDir, KdLoss.Settings s, boolean offline, boolean resume) throws IOException {
        String now = (offline ? "offline" : "online") + "; " + s.describe() + "; tail " + s.tail();
        Path saved = runDir.resolve(SAVED);
        if (resume && Files.exists(saved)) {
            String before = Files.readString(saved).strip();
            if (!before.equals(now))
                throw new IllegalArgumentException(saved + ": --resume would change the KD settings from '" + before
                        + "' to '" + now + "'; resume with the run's own --kd flags");
            return;
        }
        if (kd4j.mpi.Communicators.world().isRoot()) AtomicFiles.write(saved, now + "\n");    // rank 0 writes the run folder
    }

    private static TrainConfig withMaxSteps(TrainConfig c, long steps) {
        TrainConfig.Run r = c.run();
        return new TrainConfig(c.model(), c.data(), c.optimizer(), c.schedule(), new TrainConfig.Run(r.out(), steps,
                r.maxTokens(), r.evalInterval(), r.evalBatches(), r.checkpointInterval(), r.keepCheckpoints(),
                r.logInterval(), r.seed(), r.threads(), r.device(), r.activationCheckpointing()));
    }
}

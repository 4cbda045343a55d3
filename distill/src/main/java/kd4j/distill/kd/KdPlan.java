/*
 * What a pretrain run's KD section (TrainConfig.kd) makes of it, written once for `kd4j pretrain` and the
 * pipeline's Vanilla KD students: the trainer's loss (plain LM, online KD against a teacher, or offline KD from a
 * logits cache), the teacher / cache checked against the student and the data, and the preset's compute-matched
 * step budget (vanilla). check() refuses bad or stray KD values before anything is loaded.
 */
package kd4j.distill.kd;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import kd4j.data.DatasetInstances;
import kd4j.distill.score.ModelId;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.train.ConfigErrors;
import kd4j.train.LossFunction;
import kd4j.train.TrainConfig;

public final class KdPlan {
    /** Where runs written before the KD section joined TrainConfig kept their KD settings. */
    public static final String LEGACY_FILE = "kd-config.json";

    /**
     * What pretrain runs: the (possibly compute-matched) config and the loss; kd is null without KD, and
     * teacherParameters is 0 then (and for offline KD, whose teacher is not loaded).
     */
    public record Plan(TrainConfig config, LossFunction loss, KdLoss kd, long teacherParameters) {
        public String report() {
            if (kd == null) return "";
            return String.format(Locale.ROOT, "teacher FLOPs %s: %.4g", kd.isOnline() ? "spent" : "reused (cached)", kd.teacherFlops());
        }
    }

    private KdPlan() {}

    /** The teacher folder of online KD (for the memory plan), or null when the run has none. */
    public static Path onlineTeacher(TrainConfig.Kd kd) {
        if (!kd.enabled() || kd.teacher() == null) return null;
        if (kd.mode() != null) return kd.mode().equalsIgnoreCase("online") ? Path.of(kd.teacher()) : null;
        return !KdPreset.parse(kd.preset()).offline() ? Path.of(kd.teacher()) : null;
    }

    /**
     * Checks every KD value given (ranges, names) before anything is loaded, and refuses KD values given without
     * KD: a typo'd or forgotten --kd must not train a plain LM while the user believes it distils. Bad usage,
     * each error naming the flag.
     */
    public static void check(TrainConfig.Kd kd, long totalSteps) {
        check(kd, totalSteps, FROM_FLAGS);
    }

    /**
     * As check, for a config read from a file (TrainConfig.load's extra check): a bad kd.* value that came from
     * the file is reported with the file, line and key (bad input); one that came from a flag still names the flag.
     */
    public static void check(TrainConfig cfg, ConfigErrors.Checker where) {
        check(cfg.kd(), cfg.totalSteps(), where::bad);
    }

    /** Turns a bad value of key (problem: what is wrong, without the flag) into the error to throw. */
    private interface Where {
        RuntimeException bad(String key, String problem, RuntimeException fromFlag);
    }

    private static final Where FROM_FLAGS = (key, problem, fromFlag) -> fromFlag;

    private static void check(TrainConfig.Kd kd, long totalSteps, Where where) {
        if (!kd.enabled()) {
            List<String> given = new ArrayList<>();
            if (kd.teacher() != null) given.add("--teacher");
            if (kd.logits() != null) given.add("--logits");
            if (kd.alpha() != null) given.add("--alpha");
            if (kd.tau() != null) given.add("--tau");
            if (kd.tau2()) given.add("--tau2");
            if (kd.divergence() != null) given.add("--divergence");
            if (kd.skew() != null) given.add("--skew");
            if (kd.tail() != null) given.add("--kd-tail");
            settings(kd, totalSteps, where);          // a bad value is named first, with its allowed range
            if (!given.isEmpty())
                throw new IllegalArgumentException(String.join(", ", given) + " given without --kd online|offline "
                        + "(or --kd-preset vanilla|peng-best): the run would train without distillation");
            return;
        }
        offline(kd, where);
        settings(kd, totalSteps, where);
    }

    /** parse's value; its error (worded for flag) goes through where as key's. */
    private static <T> T value(Where where, String key, String flag, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            throw where.bad(key, m.startsWith(flag + ": ") ? m.substring(flag.length() + 2) : m, e);
        }
    }

    private static boolean offline(TrainConfig.Kd kd, Where where) {
        return kd.mode() != null ? switch (kd.mode().toLowerCase(Locale.ROOT)) {
            case "online" -> false;
            case "offline" -> true;
            default -> throw where.bad("kd.mode", "'" + kd.mode() + "' is not one of none, online, offline",
                    new IllegalArgumentException("--kd: '" + kd.mode() + "' is not one of none, online, offline"));
        } : preset(kd, where).offline();
    }

    private static KdPreset preset(TrainConfig.Kd kd, Where where) {
        return kd.preset() == null ? null : value(where, "kd.preset", "--kd-preset", () -> KdPreset.parse(kd.preset()));
    }

    /** The KD settings: the preset's (or the defaults) with each given value on top; throws on a bad value. */
    private static KdLoss.Settings settings(TrainConfig.Kd kd, long totalSteps, Where where) {
        KdPreset p = preset(kd, where);
        KdLoss.Settings preSettings = p != null ? p.settings(totalSteps)
                : new KdLoss.Settings(KdObjective.Divergence.FORWARD_KL, 1f, false, KdObjective.DEFAULT_SKEW,
                        KdObjective.TailMode.RENORMALIZE, new AlphaSchedule.Constant(0.5));
        KdObjective.Divergence divergence = kd.divergence() == null ? preSettings.divergence()
                : value(where, "kd.divergence", "--divergence", () -> KdObjective.Divergence.parse(kd.divergence()));
        float tau = kd.tau() != null ? kd.tau().floatValue() : preSettings.tau();
        if (!(tau > 0 && tau < Float.POSITIVE_INFINITY))
            throw where.bad("kd.tau", "must be a finite number > 0, got " + tau,
                    new IllegalArgumentException("--tau must be a finite number > 0, got " + tau));
        double skew = kd.skew() != null ? kd.skew() : preSettings.skew();
        if (!(skew >= 0 && skew < 1))
            throw where.bad("kd.skew", "must be in [0, 1), got " + skew,
                    new IllegalArgumentException("--skew must be in [0, 1), got " + skew));
        KdObjective.TailMode tail = kd.tail() == null ? preSettings.tail()
                : value(where, "kd.tail", "--kd-tail", () -> KdObjective.TailMode.parse(kd.tail()));
        AlphaSchedule alpha = kd.alpha() == null ? preSettings.alpha()
                : value(where, "kd.alpha", "--alpha", () -> AlphaSchedule.parse(kd.alpha(), totalSteps));
        return new KdLoss.Settings(divergence, tau, kd.tau2() || preSettings.tau2Scaling(), skew, tail, alpha);
    }

    /**
     * The loss and budget of cfg's run of student. resume: cfg is a resumed run's (its compute-matched budget
     * already applied: not matched again; a legacy kd-config.json in its folder is checked). out gets what KD will
     * do.
     */
    public static Plan of(TrainConfig cfg, CausalLM student, Backend be, boolean resume, PrintWriter out) throws IOException {
        TrainConfig.Kd kd = cfg.kd();
        check(kd, cfg.totalSteps());
        if (!kd.enabled()) return new Plan(cfg, LossFunction.languageModel(), null, 0);
        Path trainData = Path.of(cfg.data().train());
        KdPreset p = kd.preset() == null ? null : KdPreset.parse(kd.preset());
        boolean offline = offline(kd, FROM_FLAGS);
        long totalSteps = cfg.totalSteps();
        KdLoss.Settings settings = settings(kd, totalSteps, FROM_FLAGS);
        KdLoss loss;
        TrainConfig run = cfg;
        long teacherParameters = 0;
        if (!offline) {
            if (kd.teacher() == null)
                throw new IllegalArgumentException("--kd online needs --teacher DIR (a model folder sharing the student's vocabulary)");
            CausalLM t = Models.load(Path.of(kd.teacher()), be, true);
            KdLoss.requireSameVocabulary(t.config(), student.config(), kd.teacher());
            loss = KdLoss.online(t, settings);
            long ns = KdLoss.parameterCount(student);
            teacherParameters = KdLoss.parameterCount(t);
            if (p != null && p.computeMatched()) {
                if (resume) out.println("kd: compute-matched budget kept from the run's saved config (" + totalSteps + " steps)");
                else {
                    out.println("kd: " + KdPreset.describeComputeMatch(totalSteps, ns, teacherParameters));
                    run = withMaxSteps(cfg, KdPreset.computeMatchedSteps(totalSteps, ns, teacherParameters));
                }
            }
        } else {
            if (kd.logits() == null)
                throw new IllegalArgumentException("--kd offline needs --logits DIR; make one with kd4j cache-logits --model TEACHER "
                        + "--data " + trainData + (p != null && p.truncation() != null ? " --top-p 0.95 --top-k 50" : "") + " --out DIR");
            Path logits = Path.of(kd.logits());
            LogitsCache cache = LogitsCache.open(logits);
            try (DatasetInstances data = DatasetInstances.open(trainData, null)) {
                cache.requireMatches(data.corpusChecksum(), data.size(), data.tokenizerFingerprint(),
                        kd.teacher() == null ? null : ModelId.of(Path.of(kd.teacher())));
            }
            if (cache.manifest().vocabSize() != student.config().vocabSize())
                throw new IllegalArgumentException(logits + ": the cache's teacher has a vocabulary of " + cache.manifest().vocabSize()
                        + " ids, the student " + student.config().vocabSize() + ": logit distillation needs one shared "
                        + "vocabulary\n---> for a teacher with another tokenizer use Difference Sampling (kd4j score + kd4j select)");
            loss = KdLoss.offline(cache, settings);
            out.printf(Locale.ROOT, "kd: cache %s: %s, %.1f bytes/token, teacher %s%n", logits,
                    cache.manifest().describeStorage(), cache.manifest().bytesPerToken(), cache.manifest().teacherId());
        }
        if (resume) checkLegacy(Path.of(cfg.run().out()), settings, offline);
        out.println("kd: " + (offline ? "offline" : "online") + (p != null ? " (" + p.name() + ")" : "") + ", "
                + settings.describe() + "; loss = (1 - alpha) LM + alpha D");
        return new Plan(run, loss, loss, teacherParameters);
    }

    /**
     * A run folder from before the KD section joined TrainConfig keeps its settings in kd-config.json (and its
     * train-config.json has no kd section, so the trainer does not compare them): compared here as they were then.
     */
    private static void checkLegacy(Path runDir, KdLoss.Settings s, boolean offline) throws IOException {
        Path saved = runDir.resolve(LEGACY_FILE);
        if (!Files.exists(saved)) return;
        String now = (offline ? "offline" : "online") + "; " + s.describe() + "; tail " + s.tail();
        String before = Files.readString(saved).strip();
        if (!before.equals(now))
            throw new IllegalArgumentException(saved + ": --resume would change the KD settings from '" + before
                    + "' to '" + now + "'; resume with the run's own --kd flags");
    }

    private static TrainConfig withMaxSteps(TrainConfig c, long steps) {
        TrainConfig.Run r = c.run();
        return new TrainConfig(c.model(), c.data(), c.optimizer(), c.schedule(), new TrainConfig.Run(r.out(), steps,
                r.maxTokens(), r.evalInterval(), r.evalBatches(), r.checkpointInterval(), r.keepCheckpoints(),
                r.logInterval(), r.seed(), r.threads(), r.device(), r.activationCheckpointing(), r.precision()), c.kd());
    }
}

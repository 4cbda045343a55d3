/*
 * The logit-distillation options of `kd4j pretrain` (a mixin): --kd online|offline with --teacher DIR or
 * --logits DIR, --kd-preset vanilla|peng-best, --alpha, --tau, --tau2, --divergence, --skew, --kd-tail. They are
 * overrides of the config's kd section (TrainConfig.Kd), which KdPlan turns into the trainer's loss; being part of
 * train-config.json, --resume refuses to continue with other KD settings.
 */
package kd4j.cli;

import java.nio.file.Path;
import java.util.Map;
import kd4j.distill.kd.KdPreset;
import kd4j.train.TrainConfig;
import picocli.CommandLine.Option;

public final class KdOptions {
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

    /**
     * The KD flags as config overrides (kd.mode, kd.teacher, ...; flagOf records the flag that set each key), and
     * the overrides a preset implies (peng-best: a WSD learning rate) unless set explicitly.
     */
    void addOverrides(Map<String, String> overrides, Map<String, String> flagOf) {
        put(overrides, flagOf, "--kd", "kd.mode", mode);
        put(overrides, flagOf, "--teacher", "kd.teacher", teacher);
        put(overrides, flagOf, "--logits", "kd.logits", logits);
        put(overrides, flagOf, "--kd-preset", "kd.preset", preset);
        put(overrides, flagOf, "--alpha", "kd.alpha", alpha);
        put(overrides, flagOf, "--tau", "kd.tau", tau);
        if (tau2) put(overrides, flagOf, "--tau2", "kd.tau2", true);
        put(overrides, flagOf, "--divergence", "kd.divergence", divergence);
        put(overrides, flagOf, "--skew", "kd.skew", skew);
        put(overrides, flagOf, "--kd-tail", "kd.tail", tail);
        if (preset != null && KdPreset.parse(preset).wsdLearningRate()) overrides.putIfAbsent("schedule.kind", "wsd");
    }

    private static void put(Map<String, String> o, Map<String, String> flagOf, String flag, String key, Object value) {
        if (value == null) return;
        o.put(key, value.toString());
        flagOf.put(key, flag);
    }
}

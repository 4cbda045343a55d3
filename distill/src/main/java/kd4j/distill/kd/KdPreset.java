/*
 * Named KD settings from the papers, so a baseline is one flag (`--kd-preset`):
 *   vanilla    MiniPLM's Vanilla KD baseline: 0.5 LM + 0.5 soft cross-entropy against the online teacher, tau 1,
 *              trained for the compute-matched steps * 3 N_s / (3 N_s + N_t) (a training token costs 6 N_s, a
 *              teacher forward 2 N_t), which the run computes and reports.
 *   peng-best  Peng et al. 2024's best setting: top-p 0.95 / top-k 50 truncated teacher (offline cache,
 *              renormalised), forward KL, tau 1, alpha WSD-shaped peaking at 0.9, with a WSD learning rate.
 * Also the equal-compute figures both report: teacher FLOPs at 2 N_t per token.
 */
package kd4j.distill.kd;

import java.util.Locale;

public record KdPreset(String name, KdObjective.Divergence divergence, float tau, String alpha,
                       TopPkLogits.Truncation truncation, boolean offline, boolean wsdLearningRate,
                       boolean computeMatched, String description) {

    public static final KdPreset VANILLA = new KdPreset("vanilla", KdObjective.Divergence.SOFT_CE, 1f, "0.5", null,
            false, false, true, "MiniPLM Vanilla KD: 0.5 LM + 0.5 soft CE, tau 1, compute-matched steps");
    public static final KdPreset PENG_BEST = new KdPreset("peng-best", KdObjective.Divergence.FORWARD_KL, 1f, "wsd:0.9",
            new TopPkLogits.Truncation.TopPK(0.95, 50), true, true, false,
            "Peng et al. 2024 best: top-p 0.95 / top-k 50 cache, forward KL, WSD alpha peaking at 0.9, WSD learning rate");

    public static KdPreset parse(String text) {
        return switch (text == null ? "" : text.trim().toLowerCase(Locale.ROOT)) {
            case "vanilla", "vanilla-kd" -> VANILLA;
            case "peng-best", "peng" -> PENG_BEST;
            default -> throw new IllegalArgumentException("--kd-preset: '" + text + "' is not a preset (vanilla, peng-best)");
        };
    }

    /** The preset's loss settings over totalSteps optimizer steps. */
    public KdLoss.Settings settings(long totalSteps) {
        return new KdLoss.Settings(divergence, tau, false, KdObjective.DEFAULT_SKEW, KdObjective.TailMode.RENORMALIZE,
                AlphaSchedule.parse(alpha, totalSteps));
    }

    /**
     * Steps that cost the same compute as `steps` of plain training once the teacher's forward is paid:
     * floor(steps * 3 N_s / (3 N_s + N_t)), at least 1.
     */
    public static long computeMatchedSteps(long steps, long studentParameters, long teacherParameters) {
        if (studentParameters <= 0 || teacherParameters < 0 || steps < 0)
            throw new IllegalArgumentException("compute matching needs positive parameter counts and steps, got steps "
                    + steps + ", N_s " + studentParameters + ", N_t " + teacherParameters);
        double s = 3.0 * studentParameters;
        return Math.max(1, (long) Math.floor(steps * s / (s + teacherParameters)));
    }

    /** "compute-matched: 1000 steps -> 380 (N_s 125.0M, N_t 610.0M; teacher forward 2 N_t = 1.22e9 FLOPs/token)". */
    public static String describeComputeMatch(long steps, long studentParameters, long teacherParameters) {
        return String.format(Locale.ROOT, "compute-matched: %d steps -> %d (N_s %s, N_t %s; teacher forward 2 N_t = %.3g FLOPs/token)",
                steps, computeMatchedSteps(steps, studentParameters, teacherParameters), millions(studentParameters),
                millions(teacherParameters), 2.0 * teacherParameters);
    }

    private static String millions(long n) { return String.format(Locale.ROOT, "%.1fM", n / 1e6); }

    /** Teacher FLOPs for a number of tokens (one forward each). */
    public static double teacherFlops(long teacherParameters, long tokens) { return 2.0 * teacherParameters * tokens; }
}

/*
 * The weight alpha of the distillation term over training, loss = (1 - alpha) LM + alpha KD: constant, linear
 * from one value to another, or WSD-shaped (Peng et al. 2024, section 4.4: alpha warms up, holds its peak, then
 * decays, mirroring a warmup-stable-decay learning rate). Pure functions of the step, so a resumed run needs no
 * saved state; alpha(step) is 0-based over totalSteps optimizer steps.
 */
package kd4j.distill.kd;

import java.util.Locale;

public sealed interface AlphaSchedule {
    /** alpha at optimizer step (0-based), in [0, 1]. */
    double alpha(long step);

    /** One line for the run log, e.g. "wsd(peak 0.9, warmup 100, stable 700, decay 200, end 0.0)". */
    String describe();

    record Constant(double value) implements AlphaSchedule {
        public Constant { checkUnit("alpha", value); }
        public double alpha(long step) { return value; }
        public String describe() { return "constant(" + value + ")"; }
    }

    /** from at step 0 to to at step totalSteps - 1, linearly. */
    record Linear(double from, double to, long totalSteps) implements AlphaSchedule {
        public Linear {
            checkUnit("alpha start", from);
            checkUnit("alpha end", to);
            if (totalSteps < 1) throw new IllegalArgumentException("linear alpha needs at least 1 step, got " + totalSteps);
        }
        public double alpha(long step) {
            if (totalSteps == 1) return to;
            double f = Math.min(1, Math.max(0, (double) step / (totalSteps - 1)));
            return from + (to - from) * f;
        }
        public String describe() { return "linear(" + from + " -> " + to + " over " + totalSteps + " steps)"; }
    }

    /**
     * Rises linearly from 0 to peak over warmup steps, holds peak for stable steps, then falls linearly to end over
     * decay steps (and stays there).
     */
    record Wsd(double peak, long warmup, long stable, long decay, double end) implements AlphaSchedule {
        public Wsd {
            checkUnit("alpha peak", peak);
            checkUnit("alpha end", end);
            if (warmup < 0 || stable < 0 || decay < 0)
                throw new IllegalArgumentException("WSD alpha phases must not be negative: warmup " + warmup
                        + ", stable " + stable + ", decay " + decay);
        }

        /** The fractions of totalSteps Peng et al. use with a WSD learning rate: 10% warm-up, 10% decay. */
        public static Wsd over(long totalSteps, double peak, double end) {
            long warmup = Math.round(totalSteps * 0.1), decay = Math.round(totalSteps * 0.1);
            return new Wsd(peak, warmup, Math.max(0, totalSteps - warmup - decay), decay, end);
        }

        public double alpha(long step) {
            if (step < warmup) return peak * (step + 1) / warmup;
            long s = step - warmup;
            if (s < stable) return peak;
            s -= stable;
            if (s < decay) return peak + (end - peak) * (s + 1) / decay;
            return decay == 0 ? peak : end;
        }

        public String describe() {
            return "wsd(peak " + peak + ", warmup " + warmup + ", stable " + stable + ", decay " + decay + ", end " + end + ")";
        }
    }

    /**
     * Parses "0.5" (constant), "linear:FROM:TO" or "wsd:PEAK[:END]" (WSD phases from totalSteps: 10% warm-up,
     * 10% decay).
     */
    public static AlphaSchedule parse(String text, long totalSteps) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        String[] parts = t.split(":");
        try {
            return switch (parts[0]) {
                case "linear" -> {
                    if (parts.length != 3) throw new NumberFormatException();
                    yield new Linear(Double.parseDouble(parts[1]), Double.parseDouble(parts[2]), Math.max(1, totalSteps));
                }
                case "wsd" -> {
                    if (parts.length < 2 || parts.length > 3) throw new NumberFormatException();
                    yield Wsd.over(totalSteps, Double.parseDouble(parts[1]), parts.length == 3 ? Double.parseDouble(parts[2]) : 0);
                }
                default -> {
                    if (parts.length != 1) throw new NumberFormatException();
                    yield new Constant(Double.parseDouble(parts[0]));
                }
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--alpha: '" + text + "' is not a schedule; expected a number in [0, 1] "
                    + "(e.g. 0.5), linear:FROM:TO (e.g. linear:0.9:0.1) or wsd:PEAK[:END] (e.g. wsd:0.9)");
        }
    }

    private static void checkUnit(String what, double v) {
        if (!(v >= 0 && v <= 1)) throw new IllegalArgumentException("--alpha: " + what + " must be in [0, 1], got " + v);
    }
}

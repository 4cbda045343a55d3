/*
 * Learning-rate schedules as a sealed family of records: lr(step) for step counted from 0. WarmupCosine is
 * nanoGPT's (linear warmup, cosine decay to minRatio * maxLr); Wsd is warmup-stable-decay (MiniCPM, nanochat)
 * with a linear decay tail.
 */
package kd4j.autograd.optim;

public sealed interface LrSchedule {
    double lr(long step);

    /** The same rate at every step. */
    record Constant(double lr) implements LrSchedule {
        @Override
        public double lr(long step) { return lr; }
    }

    /**
     * Linear warmup over `warmup` steps to maxLr (step 0 gets maxLr / warmup), then cosine decay reaching
     * minRatio * maxLr at step `total` and staying there.
     */
    record WarmupCosine(double maxLr, long warmup, long total, double minRatio) implements LrSchedule {
        public WarmupCosine {
            if (warmup < 0 || total < warmup || minRatio < 0 || minRatio > 1)
                throw new IllegalArgumentException("WarmupCosine: need 0 <= warmup <= total and minRatio in [0, 1];"
                        + " got warmup=" + warmup + " total=" + total + " minRatio=" + minRatio);
        }

        @Override
        public double lr(long step) {
            if (step < warmup) return maxLr * (step + 1) / warmup;
            if (step >= total) return maxLr * minRatio;
            double progress = (double) (step - warmup) / (total - warmup);
            return maxLr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
        }
    }

    /**
     * Warmup-stable-decay: linear warmup over `warmup` steps, maxLr for `stable` steps, then linear decay over
     * `decay` steps to minRatio * maxLr, which holds afterwards.
     */
    record Wsd(double maxLr, long warmup, long stable, long decay, double minRatio) implements LrSchedule {
        public Wsd {
            if (warmup < 0 || stable < 0 || decay < 0 || minRatio < 0 || minRatio > 1)
                throw new IllegalArgumentException("Wsd: need warmup, stable, decay >= 0 and minRatio in [0, 1];"
                        + " got warmup=" + warmup + " stable=" + stable + " decay=" + decay + " minRatio="
                        + minRatio);
        }

        @Override
        public double lr(long step) {
            if (step < warmup) return maxLr * (step + 1) / warmup;
            long s = step - warmup - stable;
            if (s < 0) return maxLr;
            if (s >= decay) return maxLr * minRatio;
            double progress = (double) s / decay;
            return maxLr * (1 - (1 - minRatio) * progress);
        }
    }
}

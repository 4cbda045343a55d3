/*
 * The terminal view of a run: one progress bar over the step budget with the latest loss, tokens/s and (from
 * the bar) the ETA. Writes to the given stream (stderr by default) so stdout stays clean for piping.
 */
package kd4j.train;

import java.io.PrintStream;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

public final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private double lastEval = Double.NaN;

    /** A bar over totalSteps, starting at firstStep (non-zero on resume). */
    public Progress(String task, long firstStep, long totalSteps, PrintStream out) {
        bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalSteps)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(" steps", 1)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .startsFrom(firstStep, Duration.ZERO)
                .build();
    }

    public void update(StepResult r) {
        if (r.hasEval()) lastEval = r.evalLoss();
        bar.stepTo(r.step());
        bar.setExtraMessage(message(r, lastEval));
    }

    static String message(StepResult r, double lastEval) {
        String s = String.format("loss %.4f  lr %.2e  %,.0f tok/s", r.loss(), r.lr(), r.tokensPerSecond());
        if (!Double.isNaN(lastEval)) s += String.format("  eval %.4f", lastEval);
        return s;
    }

    @Override
    public void close() { bar.close(); }
}

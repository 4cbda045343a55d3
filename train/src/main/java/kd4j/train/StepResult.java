/*
 * What one optimizer step reports: the figures that go to metrics.jsonl, the progress bar and the loss plot.
 * evalLoss is NaN on steps without an evaluation; extra holds the loss function's own figures (may be empty).
 */
package kd4j.train;

import java.util.Map;

public record StepResult(long step, long totalSteps, double loss, double lr, double gradNorm, long tokens,
                         double tokensPerSecond, double dataWaitShare, double stepSeconds, double evalLoss,
                         Map<String, Double> extra) {

    public StepResult {
        extra = extra == null ? Map.of() : Map.copyOf(extra);
    }

    public boolean hasEval() { return !Double.isNaN(evalLoss); }
}

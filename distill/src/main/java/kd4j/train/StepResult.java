/*
 * What one optimizer step reports: the figures that go to metrics.jsonl, the progress bar and the loss plot.
 * evalLoss is NaN on steps without an evaluation.
 */
package kd4j.train;

public record StepResult(long step, long totalSteps, double loss, double lr, double gradNorm, long tokens,
                         double tokensPerSecond, double dataWaitShare, double stepSeconds, double evalLoss) {

    public boolean hasEval() { return !Double.isNaN(evalLoss); }
}

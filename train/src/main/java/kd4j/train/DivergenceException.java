/*
 * A training run stopped because its numbers stopped being numbers: a non-finite loss or gradient norm, a
 * NaN/Inf found by the anomaly check, or a parameter that would be checkpointed non-finite. Names the step (the
 * run's checkpoints up to the one before it are intact) and, with the anomaly check, the op and layer. Exit 1.
 */
package kd4j.train;

public final class DivergenceException extends IllegalStateException {
    private final long step;

    public DivergenceException(long step, String problem) {
        super("training diverged at step " + step + ": " + problem);
        this.step = step;
    }

    /** The 1-based optimizer step that went non-finite. */
    public long step() { return step; }
}

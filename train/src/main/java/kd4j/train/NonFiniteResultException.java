/*
 * A model computed NaN or Inf where a number was due: a log-probability in score or eval, a teacher logit in
 * cache-logits or online KD. The run stops at the first one (a NaN score would be ranked by select, a NaN loss
 * reported as a result) and names the instance or document and the position. A failed run: exit 1.
 */
package kd4j.train;

public final class NonFiniteResultException extends IllegalStateException {
    public NonFiniteResultException(String message) {
        super(message);
    }

    /** "instance 17, position 5: log-probability is NaN; ..." */
    public static NonFiniteResultException logProbability(String where, int position, double value) {
        return new NonFiniteResultException(where + ", position " + position + ": the model's log-probability is "
                + value + "; its output is not finite (weights or activations overflow), so no score is written");
    }
}

/*
 * A collective that did not complete in time: another rank died, hangs, or is far behind. The message names the
 * collective, this rank and the timeout, and says how to change it.
 */
package kd4j.mpi;

public final class CollectiveTimeoutException extends IllegalStateException {
    public CollectiveTimeoutException(String message) { super(message); }
}

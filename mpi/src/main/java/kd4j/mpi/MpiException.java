/*
 * The MPI library could not be loaded or initialised, or a call failed: the message names the library, the call
 * and the error string MPI gave, with a hint where the fix is known.
 */
package kd4j.mpi;

public final class MpiException extends IllegalStateException {
    public MpiException(String message) { super(message); }

    public MpiException(String message, Throwable cause) { super(message, cause); }
}

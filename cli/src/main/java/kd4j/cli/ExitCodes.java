/* Exit codes of every kd4j command, in one place. */
package kd4j.cli;

public final class ExitCodes {
    public static final int OK = 0;
    /** The run itself failed (a check found mismatches, training diverged, ...). */
    public static final int FAILED = 1;
    /** Bad usage: unknown option, invalid value. */
    public static final int USAGE = 2;
    /** A bad input file (malformed JSON, truncated checkpoint, ...). */
    public static final int BAD_INPUT = 3;
    /** The requested device is not available. */
    public static final int DEVICE_UNAVAILABLE = 4;

    private ExitCodes() {}
}

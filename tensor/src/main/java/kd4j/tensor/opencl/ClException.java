/*
 * A failed OpenCL call or kernel build. The message is complete at construction: the call or the .cl file, the
 * symbolic status, and for builds the device, the options and the compiler's log.
 */
package kd4j.tensor.opencl;

public class ClException extends RuntimeException {
    public ClException(String message) { super(message); }
}

/*
 * The requested device cannot be used: no OpenCL loader, no platform, or no device at the given index. The message
 * says what was found and how to fix it; the CLI maps it to exit code 4.
 */
package kd4j.tensor.opencl;

public final class DeviceUnavailableException extends RuntimeException {
    static final String INSTALL_HINT = "Install a driver, or for CPU testing: sudo apt-get install pocl-opencl-icd "
            + "ocl-icd-libopencl1. Run `kd4j devices` to check.";

    public DeviceUnavailableException(String message) { super(message); }

    static DeviceUnavailableException noPlatform(String detail) {
        return new DeviceUnavailableException("kd4j: no OpenCL platform found (" + detail + "). " + INSTALL_HINT);
    }
}

/*
 * The OpenCL device the tests run on (PoCL on a CPU-only machine), or a skip with the reason and the install line.
 */
package kd4j.tensor.opencl;

import java.util.function.IntFunction;
import org.junit.jupiter.api.Assumptions;

final class OpenClTestDevice {
    static final String INSTALL = "install one with: sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1";

    private OpenClTestDevice() {}

    /** Device 0 with the default kernel tiles; skips the calling test class when there is none. */
    static OpenClBackend openOrSkip() { return openOrSkip(OpenClBackend::new); }

    /** open(0) (a backend with the caller's settings on device 0); skips the calling test class when there is none. */
    static OpenClBackend openOrSkip(IntFunction<OpenClBackend> open) {
        String why;
        try {
            if (!ClDevice.list().isEmpty()) return open.apply(0);
            why = "no OpenCL platform";
        } catch (DeviceUnavailableException e) {
            why = e.getMessage();
        }
        Assumptions.abort("OpenCL unavailable (" + why + "); " + INSTALL);
        return null;
    }
}

/*
 * `kd4j devices`: the OpenCL platforms and devices kd4j can use, numbered as --device opencl:N expects, plus the CPU,
 * each with the GEMM path it runs for fp32 and for --precision bf16 (GemmPath: tensor cores or the plain kernel).
 * With no OpenCL runtime it says what to install and exits with DEVICE_UNAVAILABLE.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.tensor.opencl.ClDevice;
import kd4j.tensor.opencl.DeviceUnavailableException;
import kd4j.tensor.opencl.GemmPath;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the compute devices: the CPU and every OpenCL platform's devices (opencl:N).")
public final class DevicesCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        out.printf("cpu        %s, %d cores (Java %s)%n", System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), Runtime.version());
        out.println("           gemm: fp32 (Vector API); --precision bf16 is refused here: the cpu backend computes in fp32");
        List<ClDevice> devices;
        try {
            devices = ClDevice.list();
        } catch (DeviceUnavailableException e) {
            out.flush();
            err.println(e.getMessage());
            return ExitCodes.DEVICE_UNAVAILABLE;
        }
        if (devices.isEmpty()) {
            out.flush();
            err.println("kd4j: no OpenCL platform found (libOpenCL.so.1 loaded, clGetPlatformIDs returned 0 platforms). "
                    + "Install a driver, or for CPU testing: sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1.");
            return ExitCodes.DEVICE_UNAVAILABLE;
        }
        String platform = null;
        for (ClDevice d : devices) {
            if (!d.platformName().equals(platform)) {
                platform = d.platformName();
                out.println("platform   " + platform);
            }
            out.printf("opencl:%-3d %s [%s] %s, driver %s, %d compute units @ %d MHz, %.1f GiB, local %d KiB%n",
                    d.index(), d.name(), d.gpu() ? "GPU" : "CPU", d.version(), d.driverVersion(), d.computeUnits(),
                    d.clockMHz(), d.globalMemBytes() / (1024.0 * 1024 * 1024), d.localMemBytes() / 1024);
            out.printf("           gemm: %s; --precision bf16: %s%s%n", GemmPath.FP32.description(),
                    GemmPath.forBf16(d).description(), d.nvComputeCapability() >= 0
                            ? String.format(" (compute capability %d.%d)", d.nvComputeCapability() / 10, d.nvComputeCapability() % 10) : "");
        }
        return ExitCodes.OK;
    }
}
